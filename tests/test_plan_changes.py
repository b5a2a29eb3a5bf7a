"""Changing a school's plan ("You can upgrade to create more Groups anytime"): the school's
admin on the Plan screen, or the operator's command, through services.plans.change_plan:
applied at once, in the audit log, emailed to the school's admins and BILLING_EMAIL through
the outbox (one email job each); a downgrade below the usage said exactly before confirming."""

import pytest
from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.models import Account, AuditEvent, OutboxJob, SentEmail
from mentorgroups.services import group_members as gm
from mentorgroups.services import groups
from mentorgroups.services.audit_words import describe
from mentorgroups.services.errors import PermissionDenied, ServiceError
from mentorgroups.services.plans import change_consequences, change_plan, plan_change_recipients
from tests.factories import make_account, make_member

PLAN = "/admin/plan/"


@pytest.fixture
def s(app):
    account = make_account(name="Riverside <Academy>", plan="essentials")
    ada = make_member(account, "admin", full_name="Ada Admin", email="ada@river.test")
    make_member(account, "admin", full_name="Ben Admin", email="ben@river.test")
    make_member(account, "admin", full_name="Gone Admin", email="gone@river.test",
                status="revoked")
    gina = make_member(account, "staff", full_name="Gina Grant", email="gina@river.test")
    lia = make_member(account, full_name="Lia Learner", email="lia@river.test")
    db.session.commit()
    made = [groups.create_group(ada, account.id, f"Group {n}") for n in range(5)]
    gm.add_members(ada, account.id, made[0].id, "group_admin", user_ids=[gina.id])
    other = make_account(name="Hillside", plan="essentials")
    hilda = make_member(other, "admin", full_name="Hilda Admin", email="hilda@hill.test")
    db.session.commit()
    return type("S", (), dict(account=account, ada=ada, gina=gina, lia=lia, other=other,
                              hilda=hilda))


def emails_to(account_id):
    return sorted((e.recipient, e.subject) for e in db.session.scalars(
        select(SentEmail).where(SentEmail.account_id == account_id)))


def test_an_admin_upgrades_at_once_audited_and_emailed_through_the_outbox(s, mail_outbox):
    with pytest.raises(ServiceError):  # at the Essentials limit
        groups.create_group(s.ada, s.account.id, "Sixth")
    db.session.rollback()
    account, before = change_plan(s.ada, s.account.id, "complete")
    db.session.commit()
    assert (before, db.session.get(Account, s.account.id).plan) == ("essentials", "complete")
    groups.create_group(s.ada, s.account.id, "Sixth")  # no operator needed
    db.session.commit()
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "plan.change"))
    assert (event.actor_id, event.before, event.after) == (
        s.ada.id, {"plan": "essentials"}, {"plan": "complete", "groups": 5})
    assert describe(event).what == "Changed the plan from Essentials to Complete"
    # One send_email job per active admin (the revoked one is not told), run by the outbox.
    jobs = db.session.scalars(select(OutboxJob).where(OutboxJob.name == "send_email")).all()
    assert sorted(j.payload["recipient"] for j in jobs) == ["ada@river.test", "ben@river.test"]
    assert all(j.status == "done" for j in jobs)
    subject = "Riverside <Academy> is now on the Complete plan"
    assert emails_to(s.account.id) == [("ada@river.test", subject), ("ben@river.test", subject)]
    body = mail_outbox[0].body
    assert "Ada Admin upgraded Riverside <Academy>'s plan from Essentials to Complete" in body
    assert "The Complete plan includes 20 groups; this school has 5." in body
    assert "http://127.0.0.1:5000/admin/plan/" in body
    assert emails_to(s.other.id) == []


def test_billing_is_told_too(make_app, s):
    app = make_app(BILLING_EMAIL="Billing@Vendor.test")
    with app.app_context():
        change_plan(db.session.get(type(s.ada), s.ada.id), s.account.id, "enterprise")
        db.session.commit()
        assert [r for r, _ in emails_to(s.account.id)] == [
            "ada@river.test", "ben@river.test", "billing@vendor.test"]
        db.session.remove()


def test_choosing_the_current_plan_changes_and_sends_nothing(s):
    change_plan(s.ada, s.account.id, "essentials")
    db.session.commit()
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "plan.change")) \
        is None
    assert emails_to(s.account.id) == []


@pytest.mark.parametrize("who", ["gina", "lia", "hilda"])
def test_only_the_schools_admins_change_its_plan(s, who):
    with pytest.raises(PermissionDenied):
        change_plan(getattr(s, who), s.account.id, "enterprise")
    db.session.rollback()
    assert db.session.get(Account, s.account.id).plan == "essentials"


def test_an_unknown_plan_is_refused(s):
    with pytest.raises(ServiceError, match="Choose one of the plans"):
        change_plan(s.ada, s.account.id, "platinum")


def test_what_a_change_means_is_said_exactly(app):
    assert change_consequences("essentials", "trial", 5)[1] == (
        "This is fewer than the groups you have: all 5 of your groups stay, with their "
        "members, mentors and reviews, and keep working. No new group (nested groups "
        "included) can be created until you have fewer than 1 \u2014 delete 5 or choose a "
        "larger plan.")
    assert change_consequences("trial", "essentials", 1)[:2] == [
        "The Essentials plan includes 5 groups; this school has 1.",
        "You can create 4 more groups from now on."]
    assert change_consequences("essentials", "complete", 20)[1].startswith(
        "Every group you have stays, and no new group can be created")
    assert change_consequences("trial", "enterprise", 0)[:2] == [
        "The Enterprise plan includes unlimited groups; this school has none yet.",
        "You can create as many groups as you need, from now on."]


def test_the_operators_command_goes_through_the_same_rule(s, app):
    result = app.test_cli_runner().invoke(args=["accounts", "set-plan", s.account.slug,
                                                "starter"])
    assert result.exit_code == 0, result.output
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "plan.change"))
    assert event.actor_id is None and event.after["plan"] == "starter"
    assert [r for r, _ in emails_to(s.account.id)] == ["ada@river.test", "ben@river.test"]
    assert "The operator changed" in db.session.scalars(select(SentEmail.body)).first()


# ---- the screen ----------------------------------------------------------------------------

def test_the_plan_screen_asks_then_applies(client, s):
    client.login(s.ada.email)
    page = client.get(PLAN).get_data(as_text=True)
    assert 'href="/admin/plan/change?plan=complete"' in page
    assert "Riverside &lt;Academy&gt;" in page
    confirm = client.get("/admin/plan/change?plan=trial").get_data(as_text=True)
    assert "Change to the Trial plan?" in confirm
    assert "all 5 of your groups stay" in confirm  # before anything changed
    assert db.session.get(Account, s.account.id).plan == "essentials"
    response = client.post_form("/admin/plan/change", {"plan": "complete"},
                                token_page="/admin/plan/change?plan=complete")
    assert response.status_code == 302 and response.headers["Location"] == PLAN
    db.session.expire_all()
    assert db.session.get(Account, s.account.id).plan == "complete"
    page = client.get(PLAN).get_data(as_text=True)
    assert "now on the Complete plan (was Essentials)" in page
    assert "5 of 20 groups on the Complete plan" in page
    audit = client.get("/admin/community/audit/").get_data(as_text=True)
    assert "Changed the plan from Essentials to Complete" in audit


def test_the_plan_form_needs_its_csrf_token_and_a_real_plan(client, s):
    client.login(s.ada.email)
    assert client.raw.post("/admin/plan/change", data={"plan": "complete"}).status_code == 400
    assert client.post_form("/admin/plan/change", {"plan": "gold"},
                            token_page=PLAN).status_code == 404
    assert client.get("/admin/plan/change?plan=%00").status_code in (400, 404)
    assert client.get("/admin/plan/change").status_code == 404
    db.session.expire_all()
    assert db.session.get(Account, s.account.id).plan == "essentials"


def test_another_schools_admin_changes_only_their_own_school(client, s):
    client.login(s.hilda.email)
    client.post_form("/admin/plan/change", {"plan": "enterprise", "account_id": s.account.id},
                     token_page=PLAN)
    db.session.expire_all()
    assert db.session.get(Account, s.account.id).plan == "essentials"
    assert db.session.get(Account, s.other.id).plan == "enterprise"


@pytest.mark.parametrize("who", ["gina", "lia"])
def test_nobody_else_reaches_the_plan_form(client, s, who):
    client.login(getattr(s, who).email)
    assert client.get("/admin/plan/change?plan=enterprise").status_code == 403
    response = client.post_form("/admin/plan/change", {"plan": "enterprise"},
                                token_page="/paths")
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Account, s.account.id).plan == "essentials"


def test_at_the_limit_new_group_opens_the_plan_screen_with_the_reason(client, s):
    client.login(s.ada.email)
    tree = client.get("/admin/community/groups/").get_data(as_text=True)
    assert 'href="/admin/plan/?reason=limit" aria-describedby="mg-limit-message"' in tree
    assert 'disabled title=' not in tree  # the reason is not only a tooltip
    plan = client.get("/admin/plan/?reason=limit").get_data(as_text=True)
    assert ("Your Essentials plan includes 5 groups and this school has 5. Upgrade your plan "
            "to create more groups") in plan
    assert 'data-testid="plan-reason"' not in client.get(PLAN).get_data(as_text=True)


# ---- the service's own edges (each found by a mutant the tests above left alive) -------------

def test_choosing_the_current_plan_hands_back_the_school_and_its_plan(s):
    account, before = change_plan(s.ada, s.account.id, "essentials")
    assert (account.id, before) == (s.account.id, "essentials")


def test_the_consequences_end_by_saying_who_is_told(make_app, app):
    assert change_consequences("trial", "essentials", 1)[-1] == (
        "The change applies at once. This school's admins are told by email.")
    with make_app(BILLING_EMAIL="billing@vendor.test").app_context():
        assert change_consequences("trial", "essentials", 1)[-1] == (
            "The change applies at once. This school's admins and billing are told by email.")


def test_each_address_is_told_once_and_only_active_people(make_app, s):
    from mentorgroups.models import User

    app = make_app(BILLING_EMAIL="ADA@river.test")  # billing is one of the admins
    with app.app_context():
        ben = db.session.scalar(select(User).where(User.email == "ben@river.test"))
        ben.active = False  # an admin whose account is switched off
        db.session.commit()
        change_plan(db.session.get(User, s.ada.id), s.account.id, "complete")
        db.session.commit()
        assert [r for r, _ in emails_to(s.account.id)] == ["ada@river.test"]
        assert plan_change_recipients(s.account.id) == ["ada@river.test"]
        db.session.remove()


def test_a_downgrade_below_the_usage_says_the_groups_stay(s, mail_outbox):
    change_plan(s.ada, s.account.id, "trial")
    db.session.commit()
    stays = "Existing groups stay and keep working; no new group can be created while the " \
            "school is over the limit."
    assert stays in mail_outbox[0].body
    for roomier in ("complete", "enterprise"):  # 5 groups: under a limit of 20, or none
        change_plan(s.ada, s.account.id, roomier)
        db.session.commit()
        assert stays not in mail_outbox[-1].body
