"""Times as people write them, in the school's own time zone: "28 Nov 2026, 19:54 JST"
rather than "2026-11-28 10:54:03.123456+00:00"."""

from __future__ import annotations

from datetime import UTC, datetime

from mentorgroups.services.digest_weeks import zone


def as_written(value: datetime, account=None) -> str:
    """`value` (UTC) in the school's time zone, to the minute, with the zone's abbreviation
    (or its UTC offset where the zone has none)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    local = value.astimezone(zone(account)) if account is not None else value.astimezone(UTC)
    label = local.strftime("%Z")
    if not label or label[0] in "+-":
        offset = local.strftime("%z")  # "+0530"
        label = "UTC" if offset in ("", "+0000") else \
            f"UTC{offset[:3]}" + ("" if offset.endswith("00") else f":{offset[3:]}")
    return f"{local:%d %b %Y}, {local:%H:%M} {label}"
