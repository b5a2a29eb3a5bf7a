"""Server-side paging for the lists that grow with the school: the page a person asked for,
its size (25, 50 or 100), the whole count, and links to other pages that keep every other
query argument (search, sort, tab).

Services take a `PageRequest` and return a `Page`; views read the request's arguments with
`page_request()` and templates render `_pager.html`."""

from __future__ import annotations

from dataclasses import dataclass, field
from math import ceil
from typing import Any
from urllib.parse import urlencode

PAGE_SIZES = (25, 50, 100)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_NUMBER = 100_000  # beyond this a page number is clamped, never sent to SQL
MAX_ID = 2**31 - 1  # a row id beyond what the database holds is no row


@dataclass(frozen=True)
class PageRequest:
    """Page numbers start at 1. `size` is always one of PAGE_SIZES. `after` / `before`: the
    id of the row the page follows (Next) or precedes (Previous) in the list's order, for
    lists read by key rather than by OFFSET (`keyset`); the page number is then only what
    the pager says ("51–100 of ...")."""

    number: int = 1
    size: int = DEFAULT_PAGE_SIZE
    search: str = ""
    after: int | None = None
    before: int | None = None

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def keyset(self) -> bool:
        """Whether this page is asked for by key: the first page never is (a link that
        starts again at page 1 keeps no key)."""
        return self.number > 1 and (self.after is not None or self.before is not None)


def _int(raw, default: int) -> int:
    try:
        return int(str(raw).strip())
    except (TypeError, ValueError):
        return default


def _key(raw) -> int | None:
    key = _int(raw, 0)
    return key if 0 < key <= MAX_ID else None


def page_request(args, prefix: str = "", default_size: int = DEFAULT_PAGE_SIZE) -> PageRequest:
    """From query arguments `page`, `per_page`, `q`, `after` and `before` (each after
    `prefix`, so two lists on one screen page apart). A size out of range falls back to the
    default; a page number below 1 is 1, a huge one is clamped (the service clamps it to the
    last page); a key that is not a row id is ignored."""
    size = _int(args.get(prefix + "per_page"), default_size)
    if size not in PAGE_SIZES:
        size = default_size
    number = min(max(_int(args.get(prefix + "page"), 1), 1), MAX_PAGE_NUMBER)
    search = " ".join((args.get(prefix + "q") or "").split())[:200]
    after = _key(args.get(prefix + "after"))
    before = None if after is not None else _key(args.get(prefix + "before"))
    return PageRequest(number=number, size=size, search=search, after=after, before=before)


@dataclass
class Page:
    """One page of a list: its items, the whole count, and where it is among the pages."""

    items: list[Any]
    total: int
    number: int
    size: int
    search: str = ""
    extra: dict = field(default_factory=dict)
    estimated: bool = False  # `total` is about that many (services.page_counts)
    # Read by key (services.group_members.by_name_page): Previous and Next name the first
    # and last row shown, so the database reads the next page from its index in order.
    keys: tuple[int, int] | None = None

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.size))

    @property
    def first_index(self) -> int:
        """1-based position of the first item shown (0 when there is none)."""
        return (self.number - 1) * self.size + 1 if self.items else 0

    @property
    def last_index(self) -> int:
        return (self.number - 1) * self.size + len(self.items)

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    def window(self, around: int = 2) -> list[int | None]:
        """Page numbers to link: first, last and a few around this one; None for a gap."""
        shown = sorted({1, self.pages, *range(max(1, self.number - around),
                                              min(self.pages, self.number + around) + 1)})
        out: list[int | None] = []
        for n in shown:
            if out and n - (out[-1] or 0) > 1:
                out.append(None)
            out.append(n)
        return out


def last_page_number(total: int, size: int) -> int:
    return max(1, ceil(total / size))


def clamp(request: PageRequest, total: int) -> PageRequest:
    """A page past the end shows the last page (a link kept after rows were removed)."""
    last = last_page_number(total, request.size)
    if request.number <= last:
        return request
    return PageRequest(number=last, size=request.size, search=request.search)  # no key


def page_url(base: str, args, prefix: str = "", **changes) -> str:
    """`base` with the current query arguments, some changed (None drops one). Built with
    plain string work: pagers render many links and url_for per link is what made the old
    screens slow."""
    merged: dict[str, list[str]] = {}
    for key in args:
        merged[key] = args.getlist(key) if hasattr(args, "getlist") else [args[key]]
    for key, value in changes.items():
        name = prefix + key
        if key == "page":
            # Another page: a key kept from this one would say where it starts. Only the
            # pager's Previous and Next give a key, with the page they lead to.
            for stale in ("after", "before"):
                if stale not in changes:
                    merged.pop(prefix + stale, None)
        if value is None or value == "":
            merged.pop(name, None)
        else:
            merged[name] = [str(value)]
    if merged.get(prefix + "page") == ["1"]:
        merged.pop(prefix + "page")
    query = urlencode([(k, v) for k, values in merged.items() for v in values])
    return f"{base}?{query}" if query else base
