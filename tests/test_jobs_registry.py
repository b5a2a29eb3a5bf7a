"""Registering job functions by name: typos in a queue or a name used twice fail at import."""

import pytest

from mentorgroups.jobs import registry


@pytest.fixture
def jobs():
    saved = dict(registry.JOBS)
    yield registry.JOBS
    registry.JOBS.clear()
    registry.JOBS.update(saved)


def test_a_job_is_registered_under_its_name_and_queue(jobs):
    @registry.job("test_only_ping", queue="emails")
    def ping(n: int) -> int:
        return n + 1

    assert ping(1) == 2  # the decorator hands the function back unchanged
    assert jobs["test_only_ping"] == registry.JobSpec("test_only_ping", "emails", ping)
    assert registry.job("test_only_ping", queue="emails")(ping) is ping  # same function: fine
    assert registry.job("test_only_default")(ping) is ping
    assert jobs["test_only_default"].queue == "default"


def test_an_unknown_queue_is_refused(jobs):
    with pytest.raises(ValueError, match="unknown queue 'email'"):
        registry.job("test_only_typo", queue="email")
    assert "test_only_typo" not in jobs


def test_a_name_used_by_another_function_is_refused(jobs):
    registry.job("test_only_twice")(lambda: 1)
    with pytest.raises(ValueError, match="registered twice"):
        registry.job("test_only_twice")(lambda: 2)
    assert jobs["test_only_twice"].func() == 1


def test_the_job_modules_register_the_product_s_jobs(jobs):
    registry.load_job_modules()
    assert {"notify_submission", "notify_review", "send_invitation"} <= set(jobs)
    assert jobs["send_invitation"].queue == "emails"
