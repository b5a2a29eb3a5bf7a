"""The digest with the real parts: a real RQ worker (`python worker.py --burst`) sends it over
SMTP (aiosmtpd); it arrives once, with both parts, and its links work."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from mentorgroups.extensions import db
from mentorgroups.models import DigestDelivery
from mentorgroups.services import digest_subscriptions, digests
from mentorgroups.services.digest_weeks import latest_due_week
from tests.test_digest import CLOCK_START, NOW, complete, s  # noqa: F401  (fixture, clock)
from tests.test_worker_redis import run_worker

pytestmark = pytest.mark.redis


def test_the_digest_arrives_once_with_both_parts_and_working_links(
        make_app, database_url, redis_url, smtp_server, s, client):  # noqa: F811
    complete(s, s.ann, 2, NOW - timedelta(days=9), submit=True)
    digest_subscriptions.set_subscription(s.boss, s.account.id, s.analysts.id, True)
    db.session.commit()
    app = make_app(REDIS_URL=redis_url, MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port)
    with app.app_context():
        week = latest_due_week(s.account, NOW)
        assert digests.send_week(s.account, week, NOW) == {"staged": 2, "skipped": 0}
        digests.send_week(s.account, week, NOW)  # a second sender finds nothing to do
    run_worker(database_url, redis_url, smtp_server.port)
    run_worker(database_url, redis_url, smtp_server.port)  # and a second worker sends nothing

    by_person = {m["to"][0]: m for m in smtp_server.messages}
    assert len(smtp_server.messages) == 2 and set(by_person) == {s.mentor.email, s.boss.email}
    message = by_person[s.boss.email]["message"]
    assert message["Subject"] == "Your Mentor Digest: 23 Nov \u2013 29 Nov 2026"
    assert message.get_body(("plain",)) is not None and message.get_body(("html",)) is not None
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    whole = re.fullmatch(r"<(http://\S+)>", message["List-Unsubscribe"]).group(1)
    # Issue 22: the header leaves as one literal line, not RFC 2047 encoded words.
    assert f"\r\nList-Unsubscribe: <{whole}>\r\n".encode() in by_person[s.boss.email]["raw"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Coaching" in text and "Data analysts" in text and "Ann: Step 2" in html
    assert "STALE" in text and "stale" in html

    submission_id = re.search(r"http://\S+/review/(\d+)", text).group(1)
    client.login(s.boss.email)
    assert client.get(f"/review/{submission_id}").status_code == 200
    client.post_form("/logout", token_page="/paths")

    per_group = re.findall(r"Stop the digest for (.+?): (http://\S+)", text)
    coaching_link = dict(per_group)["Coaching"]
    path = "/" + coaching_link.split("/", 3)[3]
    assert client.post(path).status_code == 200  # without signing in
    db.session.expire_all()
    assert not digest_subscriptions.is_subscribed(s.boss.id, s.coaching.id)
    assert digest_subscriptions.is_subscribed(s.boss.id, s.analysts.id)

    # RFC 8058: the mail client posts List-Unsubscribe=One-Click to the header's address.
    response = client.post("/" + whole.split("/", 3)[3],
                           data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    db.session.expire_all()
    assert not digest_subscriptions.is_subscribed(s.boss.id, s.analysts.id)
    assert digest_subscriptions.is_subscribed(s.mentor.id, s.coaching.id)
    assert {row.status for row in db.session.scalars(select(DigestDelivery))} == {"sent"}
