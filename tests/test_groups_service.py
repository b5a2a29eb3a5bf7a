import pytest
from sqlalchemy import func, select, update

from mentorgroups.extensions import db
from mentorgroups.models import AuditEvent, GroupMembership, MentorGroup
from mentorgroups.services import group_members as gm
from mentorgroups.services import group_tree, groups
from mentorgroups.services.errors import NotFound, PermissionDenied, ServiceError
from tests.deadline import ends_within
from tests.factories import make_account, make_member, make_user


def count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@pytest.fixture
def s(app):
    account = make_account(plan="complete")
    admin = make_member(account, "admin", full_name="Ada Admin")
    staff = make_member(account, "staff", full_name="Gus Groupadmin")
    mentor = make_member(account, "staff", full_name="Mia Mentor")
    learner = make_member(account, "member", full_name="Lia Learner")
    db.session.commit()
    return type("S", (), dict(account=account, admin=admin, staff=staff, mentor=mentor,
                              learner=learner))


def create(s, name, parent=None, actor=None):
    group = groups.create_group(actor or s.admin, s.account.id, name, "", parent)
    db.session.commit()
    return group


# ---- names and creation -----------------------------------------------------------------

@pytest.mark.parametrize("name,message", [
    ("", "Give the group a name"), ("   ", "Give the group a name"),
    ("x" * 121, "at most 120 characters"),
])
def test_bad_names(s, name, message):
    with pytest.raises(ServiceError, match=message):
        groups.create_group(s.admin, s.account.id, name)
    assert count(MentorGroup) == 0


def test_names_are_trimmed_and_unique_among_siblings_ignoring_case(s):
    top = create(s, "  Year   7  ")
    assert top.name == "Year 7"
    with pytest.raises(ServiceError, match="already a group called"):
        groups.create_group(s.admin, s.account.id, "year 7")
    child = create(s, "Year 7", parent=top.id)  # same name, other level: fine
    with pytest.raises(ServiceError, match="same parent"):
        groups.create_group(s.admin, s.account.id, "YEAR 7", "", top.id)
    assert child.parent_id == top.id
    other_school = make_account()
    other_admin = make_member(other_school, "admin")
    assert groups.create_group(other_admin, other_school.id, "Year 7").name == "Year 7"


def test_a_rename_is_tidied_and_checked_like_a_new_name(s):
    group = create(s, "Year 7")
    create(s, "Year 8")
    renamed = groups.update_group(s.admin, s.account.id, group.id, "  Year   9 ", "  Maths  ")
    assert (renamed.name, renamed.description) == ("Year 9", "Maths")
    for name, message in [("   ", "Give the group a name"), ("year 8", "already a group called")]:
        with pytest.raises(ServiceError, match=message):
            groups.update_group(s.admin, s.account.id, group.id, name, "")
    with pytest.raises(ServiceError, match="at most"):
        groups.update_group(s.admin, s.account.id, group.id, "Year 9", "x" * 5000)


def test_saving_a_group_unchanged_logs_nothing(s):
    group = create(s, "Year 7")
    groups.update_group(s.admin, s.account.id, group.id, " Year 7 ", "")
    db.session.commit()
    assert db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.group_id == group.id)).all() == ["group.create"]


def test_a_rename_that_raced_a_move_is_checked_where_the_group_is_now(s):
    """Ada's request loaded "Maths" under Year 7; before her rename reaches the school's lock,
    another admin moves Maths under Year 8, which has an "Algebra". Renaming Maths to
    "Algebra" is refused: two groups of that name under Year 8 would be one too many."""
    year7, year8 = create(s, "Year 7"), create(s, "Year 8")
    maths = create(s, "Maths", parent=year7.id)
    create(s, "Algebra", parent=year8.id)
    assert groups.group_for_manager(s.admin, s.account.id, maths.id).parent_id == year7.id
    with db.engine.begin() as other_request:
        other_request.execute(update(MentorGroup).where(MentorGroup.id == maths.id)
                              .values(parent_id=year8.id))
    with pytest.raises(ServiceError, match="already a group called"):
        groups.update_group(s.admin, s.account.id, maths.id, "Algebra", "")
    db.session.rollback()
    assert sorted(db.session.scalars(select(MentorGroup.name).where(
        MentorGroup.parent_id == year8.id))) == ["Algebra", "Maths"]


def test_create_records_audit(s):
    group = create(s, "Coaching")
    event = db.session.scalar(select(AuditEvent))
    assert (event.action, event.group_id, event.actor_id) == ("group.create", group.id,
                                                              s.admin.id)
    assert event.after["name"] == "Coaching"


def test_nesting_under_another_schools_group_is_refused(s):
    other_school = make_account()
    foreign = groups.create_group(make_member(other_school, "admin"), other_school.id, "F")
    with pytest.raises(ServiceError, match="Choose a parent group"):
        groups.create_group(s.admin, s.account.id, "Mine", "", foreign.id)
    with pytest.raises(ServiceError, match="Choose a parent group"):
        groups.create_group(s.admin, s.account.id, "Mine", "", "abc")


# ---- plan limits --------------------------------------------------------------------------

@pytest.mark.parametrize("plan,limit", [("trial", 1), ("starter", 1), ("essentials", 5),
                                        ("complete", 20)])
def test_plan_limits(s, plan, limit):
    s.account.plan = plan
    db.session.commit()
    parent = None
    for i in range(limit):
        parent = create(s, f"G{i}", parent=parent.id if (parent and i % 2) else None)
    with pytest.raises(ServiceError, match=f"includes {limit} group"):
        groups.create_group(s.admin, s.account.id, "One too many")
    assert count(MentorGroup) == limit


def test_enterprise_is_unlimited(s):
    s.account.plan = "enterprise"
    for i in range(25):
        groups.create_group(s.admin, s.account.id, f"G{i}")
    assert groups.limit_message(s.account, groups.group_count(s.account.id)) is None


def test_downgrade_keeps_groups_and_refuses_new_ones(s):
    for i in range(3):
        create(s, f"G{i}")
    s.account.plan = "starter"
    db.session.commit()
    assert count(MentorGroup) == 3
    with pytest.raises(ServiceError, match="Upgrade your plan"):
        groups.create_group(s.admin, s.account.id, "New")
    s.account.plan = "essentials"
    create(s, "New")


# ---- editing, nesting, deleting ----------------------------------------------------------

def test_move_rules(s):
    a = create(s, "A")
    b = create(s, "B", parent=a.id)
    c = create(s, "C", parent=b.id)
    with pytest.raises(ServiceError, match="under itself"):
        groups.update_group(s.admin, s.account.id, a.id, "A", "", a.id)
    with pytest.raises(ServiceError, match="its own nested groups"):
        groups.update_group(s.admin, s.account.id, a.id, "A", "", c.id)
    groups.update_group(s.admin, s.account.id, c.id, "C", "", None)
    db.session.commit()
    assert c.parent_id is None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "group.nest"))
    assert event.before["parent_id"] == b.id and event.after["parent_id"] is None


def test_delete_moves_children_up_and_ends_memberships(s):
    a = create(s, "A")
    b = create(s, "B", parent=a.id)
    c = create(s, "C", parent=b.id)
    gm.add_members(s.admin, s.account.id, b.id, "member", user_ids=[s.learner.id])
    db.session.commit()
    with pytest.raises(PermissionDenied):
        groups.delete_group(s.mentor, s.account.id, b.id) if False else \
            groups.delete_group(_group_admin_of(s, a), s.account.id, b.id)
    db.session.rollback()
    result = groups.delete_group(s.admin, s.account.id, b.id)
    db.session.commit()
    assert result == {"name": "B", "children_moved": 1, "memberships_ended": 1,
                      "invitations_ended": 0}
    assert db.session.get(MentorGroup, c.id).parent_id == a.id
    assert count(GroupMembership, GroupMembership.group_id == b.id) == 0
    assert s.learner.id  # the person stays
    with pytest.raises(NotFound):
        groups.update_group(s.admin, s.account.id, b.id, "B", "")  # a stale form


def test_deleting_a_group_that_was_just_moved_moves_its_groups_up_to_where_it_is_now(s):
    """Ada's request loaded "Maths" under Year 7; before her delete reaches the school's lock,
    another admin moves Maths under Year 8. Its nested "Algebra" moves up to Year 8, where
    Maths was when it was deleted, not back to Year 7."""
    year7, year8 = create(s, "Year 7"), create(s, "Year 8")
    maths = create(s, "Maths", parent=year7.id)
    algebra = create(s, "Algebra", parent=maths.id)
    assert groups.group_for_manager(s.admin, s.account.id, maths.id).parent_id == year7.id
    with db.engine.begin() as other_request:
        other_request.execute(update(MentorGroup).where(MentorGroup.id == maths.id)
                              .values(parent_id=year8.id))
    groups.delete_group(s.admin, s.account.id, maths.id)
    db.session.commit()
    assert db.session.get(MentorGroup, algebra.id, populate_existing=True).parent_id == year8.id


def test_delete_refuses_when_a_child_would_clash(s):
    a = create(s, "A")
    create(s, "Shared", parent=None)
    create(s, "Shared", parent=a.id)
    with pytest.raises(ServiceError, match="Rename one of them first"):
        groups.delete_group(s.admin, s.account.id, a.id)


def _group_admin_of(s, group):
    gm.add_members(s.admin, s.account.id, group.id, "group_admin", user_ids=[s.staff.id])
    db.session.commit()
    return s.staff


# ---- group admins ---------------------------------------------------------------------------

def test_group_admins_manage_their_subtree_only(s):
    a = create(s, "A")
    a1 = create(s, "A1", parent=a.id)
    b = create(s, "B")
    ga = _group_admin_of(s, a)
    assert groups.managed_group_ids(ga, s.account.id) == {a.id, a1.id}
    tree = group_tree.top_level(ga, s.account.id)  # what the Groups tab shows him
    assert [row.name for row in tree.items] == ["A"]
    assert [row.name for row in tree.items[0].level.items] == ["A1"]
    nested = groups.create_group(ga, s.account.id, "A2", "", a.id)
    assert nested.parent_id == a.id
    with pytest.raises(PermissionDenied, match="top-level"):
        groups.create_group(ga, s.account.id, "Top")
    with pytest.raises(ServiceError, match="Choose a parent"):
        groups.create_group(ga, s.account.id, "Under B", "", b.id)
    with pytest.raises(NotFound):
        groups.update_group(ga, s.account.id, b.id, "B!", "")
    with pytest.raises(ServiceError, match="Choose a parent"):
        groups.update_group(ga, s.account.id, a1.id, "A1", "", b.id)
    with pytest.raises(ServiceError, match="Only account admins can move a group to the top"):
        groups.update_group(ga, s.account.id, a1.id, "A1", "", None)
    groups.update_group(ga, s.account.id, a1.id, "A-one", "Renamed")
    with pytest.raises(PermissionDenied, match="Only account admins can delete"):
        groups.delete_group(ga, s.account.id, a1.id)
    assert groups.managed_group_ids(s.mentor, s.account.id) == set()
    assert groups.managed_group_ids(s.learner, s.account.id) == set()


def test_an_admin_manages_every_group_of_their_school_and_none_of_another(s):
    a = create(s, "A")
    a1 = create(s, "A1", parent=a.id)
    elsewhere = make_account(plan="complete")
    their_admin = make_member(elsewhere, "admin")
    groups.create_group(their_admin, elsewhere.id, "Theirs")
    db.session.commit()
    assert groups.managed_group_ids(s.admin, s.account.id) == {a.id, a1.id}


def _loop(s, *names):
    """Make the groups named each other's parent in a ring, as a move race could leave them
    (raw SQL: the service refuses to make a loop)."""
    from sqlalchemy import text

    ring = {g.name: g for g in db.session.scalars(select(MentorGroup).where(
        MentorGroup.name.in_(names)))}
    for name, parent in zip(names, names[1:] + names[:1], strict=True):
        db.session.execute(text("UPDATE mentor_group SET parent_id = :parent WHERE id = :id"),
                           {"parent": ring[parent].id, "id": ring[name].id})
    db.session.commit()
    db.session.expire_all()


def test_a_group_admin_of_a_loop_still_manages_what_is_below_it(s):
    """Loop A and Loop B left each other's parent, "Below" nested in the loop, "Under below"
    one level further. Gus is Group Admin of Loop A: the walk down from it goes round the
    loop once and on to everything below it, and what he may choose as a parent ends too."""
    a = create(s, "Loop A")
    b = create(s, "Loop B")
    below = create(s, "Below", parent=b.id)
    under = create(s, "Under below", parent=below.id)
    other = create(s, "Other")
    ga = _group_admin_of(s, a)
    _loop(s, "Loop A", "Loop B")
    with ends_within(10, "the groups a Group Admin of a loop manages"):
        managed = groups.managed_group_ids(ga, s.account.id)
        parents = groups.allowed_parents(ga, s.account.id, below)
        target = groups.group_for_manager(ga, s.account.id, under.id)
    assert managed == {a.id, b.id, below.id, under.id}
    assert other.id not in managed
    assert [g.name for g in parents] == ["Loop A", "Loop B"]  # never Below or what is under it
    assert target.id == under.id
    with ends_within(10, "the subtree of a loop"):
        assert groups.subtree_ids(groups.parent_map(s.account.id), {b.id}) == \
            {a.id, b.id, below.id, under.id}
        assert groups.subtree_ids(groups.parent_map(s.account.id), {below.id}) == \
            {below.id, under.id}


def test_revoked_group_admin_manages_nothing(s):
    from mentorgroups.models import AccountMembership

    a = create(s, "A")
    ga = _group_admin_of(s, a)
    db.session.scalar(select(AccountMembership).where(
        AccountMembership.user_id == ga.id)).status = "revoked"
    assert groups.managed_group_ids(ga, s.account.id) == set()


# ---- members --------------------------------------------------------------------------------

def test_add_by_search_and_paste_reports_each_person(s):
    group = create(s, "A")
    outsider = make_user(email="outsider@elsewhere.test")
    make_member(make_account(), user=outsider)
    gone = make_member(s.account, "member", status="revoked", email="gone@school.test")
    db.session.commit()
    report = gm.add_members(
        s.admin, s.account.id, group.id, "mentor", user_ids=[s.mentor.id, "999999"],
        addresses=f"{s.learner.email.upper()}, not-an-email;\n outsider@elsewhere.test "
                  f"nobody@nowhere.test {gone.email} Lia <{s.learner.email}>")
    db.session.commit()
    assert sorted(u.full_name for u in report.added) == ["Lia Learner", "Mia Mentor"]
    assert report.invalid == ["not-an-email"]
    # No membership in this school: invited, whether or not they have an account elsewhere.
    assert report.invited == ["outsider@elsewhere.test", "nobody@nowhere.test"]
    assert report.not_in_account == ["999999"]
    assert report.revoked == [gone.email]
    again = gm.add_members(s.admin, s.account.id, group.id, "member",
                           user_ids=[s.mentor.id])
    assert [(u.id, role) for u, role in again.already] == [(s.mentor.id, "mentor")]
    assert count(GroupMembership) == 2
    assert count(AuditEvent, AuditEvent.action == "member.add") == 2


def test_add_needs_someone_and_a_known_role(s):
    group = create(s, "A")
    with pytest.raises(ServiceError, match="Search for people or paste"):
        gm.add_members(s.admin, s.account.id, group.id, "member", addresses="  \n ")
    with pytest.raises(ServiceError, match="Choose a role"):
        gm.add_members(s.admin, s.account.id, group.id, "owner", user_ids=[s.learner.id])


def test_roles_and_removal(s):
    group = create(s, "A")
    gm.add_members(s.admin, s.account.id, group.id, "member", user_ids=[s.learner.id])
    gm.make_mentors(s.admin, s.account.id, group.id, [s.learner.id])
    membership = db.session.scalar(select(GroupMembership))
    assert membership.role == "mentor"
    gm.change_role(s.admin, s.account.id, group.id, s.learner.id, "group_admin")
    gm.change_role(s.admin, s.account.id, group.id, s.learner.id, "member")
    gm.change_role(s.admin, s.account.id, group.id, s.learner.id, "group_admin")
    # Staff are removed in one step, like members; the audit keeps the role they had.
    removed, refused = gm.remove_members(s.admin, s.account.id, group.id, [s.learner.id])
    db.session.commit()
    assert removed == [s.learner] and refused == [] and count(GroupMembership) == 0
    actions = list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions == ["group.create", "member.add", "member.role", "member.role",
                       "member.role", "member.role", "member.remove"]
    removal = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "member.remove"))
    assert removal.before == {"role": "group_admin"}
    with pytest.raises(NotFound):
        gm.change_role(s.admin, s.account.id, group.id, s.learner.id, "mentor")


def test_search_stays_inside_the_school(s):
    group = create(s, "A")
    make_member(make_account(), full_name="Lia Elsewhere", email="lia@elsewhere.test")
    make_member(s.account, "member", status="revoked", full_name="Lia Revoked")
    make_member(s.account, "member", full_name="100% Lia_x")
    db.session.commit()
    names = [p["name"] for p in gm.search_people(s.admin, s.account.id, group.id, "lia")]
    assert names == ["100% Lia_x", "Lia Learner"]
    assert [p["name"] for p in gm.search_people(s.admin, s.account.id, group.id, "%")] == \
        ["100% Lia_x"]
    assert gm.search_people(s.admin, s.account.id, group.id, "elsewhere.test") == []
    assert gm.search_people(s.admin, s.account.id, group.id, "") == []
