"""Counts and consequences in the words people use: "1 teacher", not "1 teachers"; nothing
said about nested groups a group does not have, not "moves its 0 nested groups up"."""

from __future__ import annotations


def plural(n: int, noun: str, many: str | None = None) -> str:
    return f"{n} {noun if n == 1 else (many or noun + 's')}"


def one_of(noun: str) -> str:
    """The singular of a list's noun, for a count of 1: "notifications" -> "notification",
    "activities" -> "activity", "drifting members" -> "drifting member"; words that are not
    plurals ("staff", "waiting (oldest first)") stay as they are."""
    if noun.endswith("ies"):
        return noun[:-3] + "y"
    if noun.endswith("s") and not noun.endswith("ss"):
        return noun[:-1]
    return noun


def count_of(n: int, noun: str) -> str:
    """'1 notification', '3 notifications', for a list's plural noun."""
    return f"{n:,} {one_of(noun) if n == 1 else noun}"


def percent(done: int, total: int) -> int:
    """`done` of `total` as a whole percentage, halves rounded up as people do (3 of 8 is
    38%, 1 of 8 is 13%), not to the even neighbour as Python's round() does (12%). Integer
    arithmetic: no float ever lands just under a half."""
    if total <= 0:
        return 0
    return (200 * done + total) // (2 * total)


def cohort_people(counts: dict[str, int]) -> str:
    """'12 learners, 1 teacher, 0 moderators' for a cohort's list row."""
    return ", ".join(plural(counts.get(role, 0), role)
                     for role in ("learner", "teacher", "moderator"))


def delete_consequences(child_count: int, member_count: int, parent_name: str | None,
                        invitation_count: int = 0) -> list[str]:
    """What deleting a group does, one line each, for the Manage group page. Lines about
    nested groups, memberships or pending invitations appear only when there are some (the
    message after the delete names the same things)."""
    lines = []
    if child_count:
        where = f"\u201c{parent_name}\u201d" if parent_name else "the top level"
        what = "its nested group moves" if child_count == 1 else \
            f"its {child_count} nested groups move"
        lines.append(f"{what} up to {where};")
    if member_count:
        lines.append(f"ends its {plural(member_count, 'membership')} (people stay in the school);")
    if invitation_count:
        lines.append(f"withdraws its {plural(invitation_count, 'pending invitation')} (the "
                     f"{'link stops' if invitation_count == 1 else 'links stop'} working);")
    lines.append("deletes nothing else: paths, progress and submitted work are kept.")
    return lines


def deleted_message(name: str, children_moved: int, memberships_ended: int,
                    invitations_ended: int) -> str:
    """The flash after a delete, naming only what actually happened."""
    done = []
    if children_moved:
        done.append(f"{plural(children_moved, 'nested group')} moved up")
    ended = [plural(n, noun) for n, noun in ((memberships_ended, "membership"),
                                             (invitations_ended, "pending invitation")) if n]
    if ended:
        done.append(" and ".join(ended) + " ended")
    return f"Group \u201c{name}\u201d deleted" + (": " + "; ".join(done) if done else "") + "."
