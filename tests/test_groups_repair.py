"""`flask --app app groups check` on a database seeded (by raw SQL) with the damage the move
race left behind: a two-group cycle, a group that is its own parent, and a parent from
another school."""

from sqlalchemy import select, text

from mentorgroups.extensions import db
from mentorgroups.models import AuditEvent, MentorGroup
from mentorgroups.services import groups
from mentorgroups.services.group_repair import find_tree_problems
from tests.deadline import ends_within
from tests.factories import make_account, make_member

BASE = "/admin/community/groups"


def damaged_schools():
    school, other = make_account(plan="complete"), make_account(plan="complete")
    admin, other_admin = make_member(school, "admin"), make_member(other, "admin")
    ids = {name: groups.create_group(admin, school.id, name).id
           for name in ("Twelve", "Thirteen", "Sound", "Stray", "ALONE")}
    ids["Below"] = groups.create_group(admin, school.id, "Below", parent_id=ids["Twelve"]).id
    ids["Alone"] = groups.create_group(admin, school.id, "Alone", parent_id=ids["Sound"]).id
    ids["Theirs"] = groups.create_group(other_admin, other.id, "Theirs").id
    # Names a repaired group may keep: a nested group's, and another school's top-level one.
    ids["TWELVE"] = groups.create_group(admin, school.id, "TWELVE", parent_id=ids["Sound"]).id
    ids["their Stray"] = groups.create_group(other_admin, other.id, "Stray").id
    db.session.commit()
    for group, parent in (("Twelve", "Thirteen"), ("Thirteen", "Twelve"), ("Alone", "Alone"),
                          ("Stray", "Theirs")):
        db.session.execute(text("UPDATE mentor_group SET parent_id = :parent WHERE id = :id"),
                           {"parent": ids[parent], "id": ids[group]})
    db.session.commit()
    return school, admin, ids


def parents(account_id):
    return dict(db.session.execute(select(MentorGroup.name, MentorGroup.parent_id).where(
        MentorGroup.account_id == account_id)).all())


def test_check_reports_then_repairs_cycles_and_foreign_parents(app, client):
    school, admin, ids = damaged_schools()
    runner = app.test_cli_runner()

    with ends_within(10, "`groups check --dry-run` on a tree with a loop"):
        dry = runner.invoke(args=["groups", "check", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"group {ids['Alone']} \u201cAlone\u201d has parent {ids['Alone']}, but it was its " \
           "own ancestor" in dry.output
    assert f"group {ids['Stray']} \u201cStray\u201d has parent {ids['Theirs']}, but its parent " \
           "is not a group of this school" in dry.output
    assert "4 problem(s) found; nothing changed" in dry.output  # Twelve, Thirteen, Alone, Stray
    db.session.expire_all()
    assert parents(school.id)["Alone"] == ids["Alone"]

    with ends_within(10, "`groups check` on a tree with a loop"):
        result = runner.invoke(args=["groups", "check"])
    assert result.exit_code == 0, result.output
    assert "moved 3 group(s) to the top level" in result.output
    db.session.expire_all()
    after = parents(school.id)
    # The cycle is broken at one group (the other stays nested under it), the self-parented
    # group and the stray go to the top level (beside "ALONE": under a free name); the rest
    # is untouched.
    assert after["Twelve"] is None and after["Thirteen"] == ids["Twelve"]
    assert after["Alone (2)"] is None and after["Stray"] is None
    assert after["Below"] == ids["Twelve"] and after["Sound"] is None
    # Only this school's top-level names count: "Twelve" beside a nested "TWELVE", "Stray"
    # beside the other school's top-level "Stray", keep their names.
    assert sorted(after) == ["ALONE", "Alone (2)", "Below", "Sound", "Stray", "TWELVE",
                             "Thirteen", "Twelve"]
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.account_id == school.id, AuditEvent.action == "group.repair")
        .order_by(AuditEvent.group_id)).all()
    assert [(e.group_id, e.before["parent_id"], e.after["reason"]) for e in events] == sorted([
        (ids["Twelve"], ids["Thirteen"], "it was its own ancestor"),
        (ids["Alone"], ids["Alone"], "it was its own ancestor"),
        (ids["Stray"], ids["Theirs"], "its parent is not a group of this school")])
    assert runner.invoke(args=["groups", "check"]).output.startswith("Every group tree is sound")

    # The school's admin sees every group again, the log says who repaired them, and the
    # once self-parented group can be managed and deleted.
    client.login(admin.email)
    tree = client.get(f"{BASE}/").get_data(as_text=True)
    assert all(name in tree for name in ("Twelve", "Alone (2)", "Stray"))
    nested = client.get(f"{BASE}/{ids['Twelve']}/nested?fragment=1").get_data(as_text=True)
    assert all(name in nested for name in ("Thirteen", "Below"))
    log = client.get("/admin/community/audit/").get_data(as_text=True)
    assert "Operator (groups check)" in log and "Repaired tree" in log
    assert client.get(f"{BASE}/{ids['Alone']}/manage").status_code == 200
    response = client.post_form(f"{BASE}/{ids['Alone']}/delete", {},
                                token_page=f"{BASE}/{ids['Alone']}/manage")
    assert response.status_code == 302
    assert db.session.get(MentorGroup, ids["Alone"]) is None


def test_the_check_comes_out_of_a_loop_with_a_group_below_it(app):
    """"Below" hangs under the Twelve/Thirteen loop without being on it: the walk up from it
    enters the loop and must end there. Below is sound as far as it goes (its parent is a
    group of its school, and it is not its own ancestor), so only the groups on the loop,
    the self-parented one and the stray are reported, each once."""
    school, admin, ids = damaged_schools()
    # The other school has damage of its own: its "Stray" was left its own parent.
    db.session.execute(text("UPDATE mentor_group SET parent_id = id WHERE id = :id"),
                       {"id": ids["their Stray"]})
    db.session.commit()
    with ends_within(10, "finding the problems of a tree with a loop"):
        problems = find_tree_problems(school.id)
        everywhere = find_tree_problems()
    assert [(p.name, p.parent_id, p.kind) for p in problems] == sorted([
        ("Twelve", ids["Thirteen"], "cycle"), ("Thirteen", ids["Twelve"], "cycle"),
        ("Alone", ids["Alone"], "cycle"), ("Stray", ids["Theirs"], "foreign parent")],
        key=lambda p: ids[p[0]])
    # Asked for one school, only its problems; asked for all, the other school's too.
    assert everywhere == sorted(problems + [
        p for p in everywhere if p.group_id == ids["their Stray"]],
        key=lambda p: (p.account_id, p.group_id))
    assert [(p.name, p.kind) for p in everywhere if p.account_id != school.id] == \
        [("Stray", "cycle")]
