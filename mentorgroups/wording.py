"""Counts and consequences in the words people use: "1 teacher", not "1 teachers"; nothing
said about nested groups a group does not have, not "moves its 0 nested groups up"."""

from __future__ import annotations


def plural(n: int, noun: str, many: str | None = None) -> str:
    return f"{n} {noun if n == 1 else (many or noun + 's')}"


def cohort_people(counts: dict[str, int]) -> str:
    """'12 learners, 1 teacher, 0 moderators' for a cohort's list row."""
    return ", ".join(plural(counts.get(role, 0), role)
                     for role in ("learner", "teacher", "moderator"))


def delete_consequences(child_count: int, member_count: int, parent_name: str | None) -> list[str]:
    """What deleting a group does, one line each, for the Manage group page. Lines about
    nested groups or memberships appear only when there are some."""
    lines = []
    if child_count:
        where = f"\u201c{parent_name}\u201d" if parent_name else "the top level"
        what = "its nested group moves" if child_count == 1 else \
            f"its {child_count} nested groups move"
        lines.append(f"{what} up to {where};")
    if member_count:
        lines.append(f"ends its {plural(member_count, 'membership')} (people stay in the school);")
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
