"""Property-based (Hypothesis stateful) test of the group tree: random creates, moves, member
adds and deletes keep it acyclic, inside one school, and what the Groups tab shows of it (every
group once, its counts, how many groups are nested in it) right."""

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from mentorgroups.extensions import db
from mentorgroups.models import MentorGroup
from mentorgroups.paging import PageRequest
from mentorgroups.services import group_members, group_tree, groups
from mentorgroups.services.errors import ServiceError
from tests.conftest import empty_tables
from tests.factories import make_account, make_member


class GroupTree(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.account = make_account(plan="enterprise")
        self.admin = make_member(self.account, "admin")
        self.people = [make_member(self.account, "member") for _ in range(3)]
        other = make_account(plan="enterprise")
        self.foreign = groups.create_group(make_member(other, "admin"), other.id, "Foreign")
        db.session.commit()
        self.parents: dict[int, int | None] = {}  # the model: id -> parent id
        self.roles: dict[int, dict[int, str]] = {}  # group id -> user id -> role
        self.n = 0

    def teardown(self):
        db.session.rollback()
        empty_tables()

    def pick(self, data, allow_none=True):
        options = sorted(self.parents)
        if allow_none:
            options = [None, *options]
        return data.draw(st.sampled_from(options))

    def descendants(self, gid):
        out, frontier = set(), {gid}
        while frontier:
            frontier = {c for c, p in self.parents.items() if p in frontier} - out
            out |= frontier
        return out

    @rule(data=st.data())
    def create(self, data):
        parent = self.pick(data)
        self.n += 1
        group = groups.create_group(self.admin, self.account.id, f"G{self.n}", "", parent)
        db.session.commit()
        self.parents[group.id] = parent
        self.roles[group.id] = {}

    @precondition(lambda self: self.parents)
    @rule(data=st.data())
    def move(self, data):
        gid = self.pick(data, allow_none=False)
        target = data.draw(st.sampled_from([None, self.foreign.id, *sorted(self.parents)]))
        name = db.session.get(MentorGroup, gid).name
        illegal = target == self.foreign.id or target == gid or target in self.descendants(gid)
        try:
            groups.update_group(self.admin, self.account.id, gid, name, "", target)
            db.session.commit()
        except ServiceError:
            db.session.rollback()
            assert illegal
            return
        assert not illegal
        self.parents[gid] = target

    @precondition(lambda self: self.parents)
    @rule(data=st.data(), role=st.sampled_from(["member", "mentor", "group_admin"]))
    def add_member(self, data, role):
        gid = self.pick(data, allow_none=False)
        person = data.draw(st.sampled_from(self.people))
        group_members.add_members(self.admin, self.account.id, gid, role, user_ids=[person.id])
        db.session.commit()
        self.roles[gid].setdefault(person.id, role)

    @precondition(lambda self: self.parents)
    @rule(data=st.data())
    def delete(self, data):
        gid = self.pick(data, allow_none=False)
        groups.delete_group(self.admin, self.account.id, gid)
        db.session.commit()
        for child, parent in list(self.parents.items()):
            if parent == gid:
                self.parents[child] = self.parents[gid]
        del self.parents[gid]
        del self.roles[gid]

    @invariant()
    def matches_the_model_and_is_a_forest(self):
        stored = dict(db.session.execute(
            db.select(MentorGroup.id, MentorGroup.parent_id)
            .where(MentorGroup.account_id == self.account.id)).all())
        assert stored == self.parents
        for gid in stored:  # walking up always ends at a root of this school
            seen, node = set(), gid
            while node is not None:
                assert node not in seen and node in stored
                seen.add(node)
                node = stored[node]
        rows = self.shown()
        assert sorted(row.id for row in rows) == sorted(stored)
        for row in rows:
            expected = {"member": 0, "mentor": 0, "group_admin": 0}
            for role in self.roles[row.id].values():
                expected[role] += 1
            assert row.counts == expected
            assert row.nested == sum(parent == row.id for parent in stored.values())
        assert groups.group_count(self.account.id) == len(stored)

    def shown(self):
        """Every row the Groups tab shows the admin with every group opened: the top level,
        then the level of each group with groups nested in it."""
        whole = PageRequest(size=100)  # more than the groups a run makes: one page a level
        top = group_tree.top_level(self.admin, self.account.id, whole)
        rows, opened = list(top.items), 0
        assert top.total == len(top.items)
        while opened < len(rows):
            row, opened = rows[opened], opened + 1
            if row.nested:
                _, level = group_tree.nested_level(self.admin, self.account.id, row.id, whole)
                assert level.total == len(level.items)
                assert all(inner.parent_id == row.id for inner in level.items)
                rows.extend(level.items)
        return rows


def test_group_tree_state_machine(app):
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(GroupTree, settings=settings(
        max_examples=20, stateful_step_count=20, deadline=None,
        suppress_health_check=[HealthCheck.too_slow], database=None))
