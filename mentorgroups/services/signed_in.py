"""The signed-in person as every page needs them, in one statement.

Each request of a signed-in person starts by loading them (Flask-Login's user loader), then
their active membership of the school they work in, the school, the places of the header
(four EXISTS over their roles) and the bell's unread count. Read one by one that was five
statements before any content, the fixed cost of every page. Here they are one row: the
person, outer-joined to the membership and school named by the session, with the roles and
the count as columns. The row fills the request's cache (mentorgroups.request_cache) under
the keys the usual lookups use, so `active_membership`, `roles_in_school` and `unread_count`
find them there and ask nothing; a commit or rollback empties the cache, and a lookup after
it reads the database again."""

from __future__ import annotations

from functools import cache

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import contains_eager

from mentorgroups.extensions import db
from mentorgroups.models import Account, AccountMembership, User
from mentorgroups.request_cache import remember
from mentorgroups.services.inbox import unread_count_column, unread_key
from mentorgroups.services.permissions import membership_key
from mentorgroups.services.school_roles import role_columns, roles_from_row, roles_key


@cache
def _statement():
    """The one statement, built once per process with the person and school as parameters:
    building its four EXISTS and the count anew was a tenth of a small page's time."""
    user_id, account_id = bindparam("user_id"), bindparam("account_id")
    # The school is loaded into the membership (`membership.account`), which holds it: read
    # as a column of its own it was dropped from the session's weak identity map as soon as
    # this function returned, and the page's first `current_account()` read it again.
    return (select(User, AccountMembership, *role_columns(user_id, account_id),
                   unread_count_column(user_id, account_id))
            .outerjoin(AccountMembership, and_(AccountMembership.user_id == User.id,
                                               AccountMembership.account_id == account_id,
                                               AccountMembership.status == "active"))
            .outerjoin(Account, Account.id == AccountMembership.account_id)
            .options(contains_eager(AccountMembership.account))
            .where(User.id == user_id))


def load_signed_in(user_id: int, account_id: int | None) -> User | None:
    """The person (None if there is no such person), with what every page shows of them in
    `account_id`'s school kept for this request. Without a school (the session has none yet)
    only the person is read: which school they work in is decided afterwards."""
    if account_id is None:
        return db.session.get(User, user_id)
    row = db.session.execute(_statement(), {"user_id": user_id,
                                            "account_id": account_id}).first()
    if row is None:
        return None
    user, membership, *roles, unread = row
    if user.active:  # an inactive person has no membership anywhere (active_membership)
        remember(membership_key(user_id, account_id), membership)
    if membership is not None:
        remember(roles_key(user_id, account_id), roles_from_row(roles))
        remember(unread_key(user_id, account_id), unread)
    return user
