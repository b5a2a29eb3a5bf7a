"""A school seen through the API: an admin, a token, two groups (one nested), a mentor and
two learners in them, one learner's step done and work waiting for review."""

from __future__ import annotations

from dataclasses import dataclass

from mentorgroups.extensions import db
from mentorgroups.services import api_tokens, group_members, groups, learning
from tests.factories import make_member
from tests.factories import school as make_school


@dataclass
class ApiSchool:
    account_id: int
    admin: object
    secret: str
    read_secret: str
    top_id: int
    nested_id: int
    learner_id: int
    mentor_id: int

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.secret}"}

    @property
    def read_headers(self) -> dict:
        return {"Authorization": f"Bearer {self.read_secret}"}


def api_school(plan: str = "complete") -> ApiSchool:
    s = make_school(plan=plan)
    mentor = make_member(s.account, "staff", full_name="Mo Mentor", email=None)
    top = groups.create_group(s.admin, s.account.id, "Coaching")
    nested = groups.create_group(s.admin, s.account.id, "Evening circle", parent_id=top.id)
    group_members.add_members(s.admin, s.account.id, top.id, "member",
                              user_ids=[s.learner.id, s.other.id])
    group_members.add_members(s.admin, s.account.id, top.id, "mentor", user_ids=[mentor.id])
    steps = sorted(s.path.steps, key=lambda step: step.position)
    learning.complete_step(s.learner, s.account.id, steps[0].id)
    learning.submit_for_review(s.learner, s.account.id, steps[1].id, "My work")
    _, secret = api_tokens.create_token(s.admin, s.account.id, "HR sync", "write")
    _, read_secret = api_tokens.create_token(s.admin, s.account.id, "Reports", "read")
    db.session.commit()
    return ApiSchool(s.account.id, s.admin, secret, read_secret, top.id, nested.id,
                     s.learner.id, mentor.id)


