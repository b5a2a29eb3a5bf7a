"""The school admin finds emails that could not be delivered, with the reason, on a phone."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.conftest import assert_accessible, assert_fits_width, quick_sign_in
from tests.test_browser import ARTIFACTS, seed_school, shot

playwright_sync = pytest.importorskip("playwright.sync_api")
expect = playwright_sync.expect
pytestmark = pytest.mark.browser


def test_admin_sees_undelivered_emails_with_the_reason_at_390px(live_server, page):
    from mentorgroups.extensions import db
    from mentorgroups.models import SentEmail
    from mentorgroups.services import learning

    def failed_email(s):
        learning.submit_for_review(s.learner, s.account.id, s.path.steps[1].id, "work")
        db.session.flush()

    data = seed_school(live_server.app, failed_email)
    with live_server.app.app_context():  # what a refusing mail server leaves behind
        db.session.execute(SentEmail.__table__.update().values(
            status="failed", attempts=3,
            last_error="smtplib.SMTPDataError: (451, b'Try again later')"))
        db.session.commit()
        assert db.session.scalar(select(SentEmail.status)) == "failed"
        db.session.remove()
    page.set_viewport_size({"width": 390, "height": 844})
    quick_sign_in(page, data.admin_email, then="/admin/sent_emails/")
    assert_accessible(page, "sent emails")
    page.get_by_role("link", name="Not delivered: 1").click()
    row = page.locator("table tbody tr").first
    expect(row).to_contain_text("Not delivered yet: retrying")
    expect(row).to_contain_text("451")
    expect(row).to_contain_text(data.teacher_email)
    ARTIFACTS.mkdir(exist_ok=True)
    shot(page, "sent-emails-undelivered-390")
    assert_fits_width(page)
