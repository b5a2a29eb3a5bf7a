"""Two schools that share people: the scene in which a forgotten filter, a missing role or a
revoked person shows. Built through the services wherever a rule applies, so the scene is one
the product can really reach.

Riverside Academy (the school under test)
  Ada Admin           account admin
  Tess Teacher        teaches cohort "Spring" of "Essay writing"
  Mo Moderator        moderates cohort "Spring"
  Aut Teacher         teaches cohort "Autumn" of the same path (not Lia's cohort)
  Lia Learner         learner in "Spring"; member of group "Coaching"; also at Hillside
  Olu Other           learner in "Autumn"; member of group "Chess club" (not Lia's group)
  Sam Shared          a *learner* here (in "Spring"); a *mentor* at Hillside of a group Lia is in
  Meg Mentor          mentor of "Coaching"
  Fay Fellow          mentor of "Coaching" who also learns in "Spring" (a fellow mentor)
  Una Unrelated       mentor of "Chess club" only
  Gus GroupAdmin      Group Admin of "Coaching" (not told of submissions as such)
  Rita Revoked        mentor of "Coaching", access revoked *after* joining; still active at
                      Hillside
  Dee Deactivated     mentor of "Coaching"; her personal account was deactivated afterwards
  Eve Elsewhere       learns "Debating" (a path Lia does not take)

Hillside College (the other school)
  Hal Admin           account admin
  Lia Learner         member of group "Hill mentoring"; learns "Hill maths"
  Sam Shared          mentor of "Hill mentoring"
  Rita Revoked        active staff
  Hugo Hill           mentor of "Hill mentoring" (has no membership at Riverside)
"""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import select, update

from mentorgroups.extensions import db
from mentorgroups.models import AccountMembership, User
from mentorgroups.services import accounts, groups
from mentorgroups.services import group_members as gm
from tests.factories import make_account, make_cohort, make_member, make_path


def _group(admin, account, name, **roles):
    group = groups.create_group(admin, account.id, name)
    for role, people in roles.items():
        report = gm.add_members(admin, account.id, group.id, role,
                                user_ids=[p.id for p in people])
        assert len(report.added) == len(people), (name, role, report)
    return group


def membership(user, account) -> AccountMembership:
    return db.session.scalar(select(AccountMembership).where(
        AccountMembership.user_id == user.id, AccountMembership.account_id == account.id))


def two_schools():
    river = make_account(name="Riverside Academy", plan="complete")
    hill = make_account(name="Hillside College", plan="complete")
    p = {}
    p["ada"] = make_member(river, "admin", full_name="Ada Admin")
    for key, name, role in [("tess", "Tess Teacher", "staff"), ("mo", "Mo Moderator", "staff"),
                            ("aut", "Aut Teacher", "staff"), ("lia", "Lia Learner", "member"),
                            ("olu", "Olu Other", "member"), ("sam", "Sam Shared", "member"),
                            ("meg", "Meg Mentor", "staff"), ("fay", "Fay Fellow", "staff"),
                            ("una", "Una Unrelated", "staff"), ("gus", "Gus GroupAdmin", "staff"),
                            ("rita", "Rita Revoked", "staff"), ("dee", "Dee Deactivated", "staff"),
                            ("eve", "Eve Elsewhere", "member")]:
        p[key] = make_member(river, role, full_name=name, email=f"{key}@river.test")
    p["hal"] = make_member(hill, "admin", full_name="Hal Admin")
    p["hugo"] = make_member(hill, "staff", full_name="Hugo Hill", email="hugo@hill.test")
    for key, role in [("lia", "member"), ("sam", "staff"), ("rita", "staff")]:
        make_member(hill, role, user=p[key])

    essay = make_path(river, steps=4, review_at=(2, 3), points={3: 10}, title="Essay writing")
    debating = make_path(river, steps=2, review_at=(2,), title="Debating")
    spring = make_cohort(essay, name="Spring", teachers=[p["tess"]], moderators=[p["mo"]],
                         learners=[p["lia"], p["sam"], p["fay"]])
    autumn = make_cohort(essay, name="Autumn", teachers=[p["aut"]], learners=[p["olu"]])
    make_cohort(debating, name="Debaters", learners=[p["eve"]])
    hill_maths = make_path(hill, steps=3, review_at=(2,), title="Hill maths")
    make_cohort(hill_maths, name="Hill term", learners=[p["lia"]])

    coaching = _group(p["ada"], river, "Coaching", member=[p["lia"]],
                      mentor=[p["meg"], p["fay"], p["rita"], p["dee"]], group_admin=[p["gus"]])
    chess = _group(p["ada"], river, "Chess club", member=[p["olu"]], mentor=[p["una"]])
    hill_group = _group(p["hal"], hill, "Hill mentoring", member=[p["lia"]],
                        mentor=[p["sam"], p["hugo"]])
    db.session.commit()

    # After joining the group: Rita's access to Riverside is revoked, Dee's account deactivated.
    accounts.set_membership_status(p["ada"], membership(p["rita"], river), "revoked")
    db.session.execute(update(User).where(User.id == p["dee"].id).values(active=False))
    db.session.commit()
    db.session.expire_all()

    return SimpleNamespace(river=river, hill=hill, essay=essay, debating=debating,
                           spring=spring, autumn=autumn, hill_maths=hill_maths,
                           coaching=coaching, chess=chess, hill_group=hill_group, **p)
