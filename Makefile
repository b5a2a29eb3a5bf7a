# Two commands: `make run` serves the demo, `make test` runs the whole suite on both databases.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app app
PYTEST := $(BIN)/pytest -q -p no:cacheprovider
# `make run PORT=5001` serves on another port; links in emails follow it unless BASE_URL is set.
PORT     ?= 5000
BASE_URL ?= http://127.0.0.1:$(PORT)
DEV_ENV  := instance/development.env
# The test modules that deal in dates (expiry, weeks, waits, ages, report periods, formatting),
# run again a year ahead and a year back (SQLite, in this process only: no browser and no
# worker processes, whose clocks the test cannot move). A module whose only date is "now" for
# a row it needs (the two-school probes, the forged-id sweep of test_admin_security) is left out.
DATED_TESTS := tests/test_digest*.py tests/test_invitations.py tests/test_identity.py \
	tests/test_passwords_service.py tests/test_reports*.py tests/test_email*.py \
	tests/test_jobs.py tests/test_jobs_claims.py tests/test_jobs_lease.py tests/test_jobs_ops*.py \
	tests/test_jobs_outbox.py tests/test_jobs_queues.py tests/test_jobs_retry.py \
	tests/test_inbox.py tests/test_audit_words*.py tests/test_admin_screens.py \
	tests/test_mentoring_drifting.py tests/test_mentoring_screens.py \
	tests/test_mentoring_two_schools.py tests/test_notifications_jobs.py \
	tests/test_review_queue.py tests/test_paging.py tests/test_wording.py tests/test_discussion*.py \
	tests/test_turnaround*.py tests/test_review_next*.py tests/test_submission_versions.py \
	tests/test_learning_service.py tests/test_health.py

.PHONY: drills-under-load run test test-sqlite test-sqlite-screens test-postgresql test-postgresql-screens test-clock-ahead test-clock-back prerequisites \
	install lint clean bench mutation soak

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# uv resolves and installs the same versions as pip in under half the time (9.7 s against
# 24 s on the 2-core machine); pip does it when uv cannot be had. --compile-bytecode: uv
# writes no .pyc by default, and where PYTHONDONTWRITEBYTECODE is set (this machine) every
# process would then compile the libraries it imports (`import app`: 2.6 s of CPU, not 1.4).
$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install --quiet uv && \
	  $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[test]' || \
	  $(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

# Development settings go in a file every `flask --app app ...` command of the checkout reads,
# so the README's commands work beside the demo without an export. The web process also runs
# the periodic tasks (outbox sweep, weekly digest) that production leaves to `flask scheduler`.
run: install
	@mkdir -p instance
	@printf '%s\n' \
	  '# Written by `make run`: development settings for every `flask --app app ...` command' \
	  '# of this checkout (a variable set in the environment wins). Delete it to leave' \
	  '# development mode.' \
	  'MENTORGROUPS_DEV=1' 'BASE_URL=$(BASE_URL)' > $(DEV_ENV)
	$(FLASK) db upgrade
	$(FLASK) seed-demo --if-empty
	@echo "Serving http://127.0.0.1:$(PORT)  (Ctrl-C stops it; links in emails: $(BASE_URL))"
	@echo "Emails are not sent in development: each one, links included, is logged below."
	PERIODIC_TASKS_IN_PROCESS=1 $(FLASK) run --host 127.0.0.1 --port $(PORT)

# PostgreSQL, Redis and Chromium are checked first (one line each for what is missing), then
# six runs side by side (much of a run is waiting on PostgreSQL, Chromium, worker processes
# and the drills' retry windows): each backend in two halves, the screens and real workers
# (browser and redis tests, named by file so the rest is not collected) and the rest, and the
# dated modules a year ahead and a year back. Every test runs on both backends but two kinds:
# the few marked one_backend (their own processes on a database of their own) and the browser
# tests, which drive each screen once, on one backend: Chromium is half of the suite's CPU,
# and what differs between the backends (the SQL behind each screen) runs on both in the view
# and service tests. The browser files whose flows race or lock go to PostgreSQL, the rest
# (and any new one) to SQLite, about even in CPU. Each run has a PostgreSQL and a Redis
# database of its own. Eight runs (screens and workers apart) were measured slower: the two
# cores are busy throughout, and more processes only share them.
PG_BROWSER_TESTS := tests/test_browser_review_next.py tests/test_browser_groups.py \
	tests/test_browser_mentoring.py tests/test_browser_identity.py tests/test_browser_paging.py \
	tests/test_browser_school_home.py tests/test_browser_scim.py tests/test_browser_api_tokens.py \
	tests/test_browser_reports.py
SQLITE_BROWSER_TESTS := $(filter-out $(PG_BROWSER_TESTS),$(wildcard tests/test_browser*.py))
WORKER_TESTS := $(shell grep -l "mark.redis" tests/test_*.py)
test: prerequisites install
	@$(MAKE) --no-print-directory -j6 --output-sync=target test-sqlite test-sqlite-screens \
		test-postgresql test-postgresql-screens test-clock-ahead test-clock-back

prerequisites:
	@$(PYTHON) tests/prerequisites.py

test-sqlite: install
	MG_TEST_DB=sqlite $(PYTEST) -m "not browser and not redis"

test-sqlite-screens: install
	MG_TEST_DB=sqlite MG_TEST_REDIS_URL=redis://127.0.0.1:6379/5 $(PYTEST) -m "browser or redis" \
		$(SQLITE_BROWSER_TESTS) $(WORKER_TESTS)

test-postgresql: install
	MG_TEST_DB=postgresql $(PYTEST) -m "not browser and not redis"

test-postgresql-screens: install
	MG_TEST_DB=postgresql MG_TEST_REDIS_URL=redis://127.0.0.1:6379/6 $(PYTEST) \
		-m "browser or redis" $(PG_BROWSER_TESTS) $(WORKER_TESTS)

# Tests marked scale (statements at 10 and at 500 rows) are left out: they build hundreds of
# rows to compare counts, and the dated modules' rules are tested without them.
test-clock-ahead: install
	MG_TEST_DB=sqlite MG_TEST_CLOCK_SHIFT_DAYS=365 $(PYTEST) \
		-m "not browser and not redis and not scale" $(DATED_TESTS)

test-clock-back: install
	MG_TEST_DB=sqlite MG_TEST_CLOCK_SHIFT_DAYS=-365 $(PYTEST) \
		-m "not browser and not redis and not scale" $(DATED_TESTS)

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) instance .pytest_cache test-artifacts

# groups_tree and reports print their tables; digest writes bench/results-digest.json; screens
# (every screen against its floor and a stock Flask-Admin list, 100,000 and 10,000 learners)
# writes bench/results.json and regenerates the README's table from both files; concurrency
# (gunicorn workers x threads under 20 people at once, reading each screen for 5 s on average,
# then with no pause as a saturation test) adds its two tables to the same file.
bench: install
	$(BIN)/python bench/groups_tree.py
	$(BIN)/python bench/school_home.py
	$(BIN)/python bench/reports.py
	$(BIN)/python bench/digest.py
	$(BIN)/python bench/screens.py
	$(BIN)/python bench/concurrency.py --configs 2x4,4x2,4x4,5x2 --seconds 40
	$(BIN)/python bench/concurrency.py --think 0

# The fault drills five times per backend beside two CPU-bound processes (they must pass, slower).
drills-under-load: install
	bench/drills_under_load.sh

# gunicorn, RQ workers and the scheduler under 50 simulated people for 60 s, with Redis
# restarted and SMTP refusing for 20 s: prints 5xx, latency percentiles and the email tally.
soak: install
	$(BIN)/python bench/soak.py

# Mutation testing of services/ and jobs/ (SQLite, niced: it is CPU heavy). One module or a few:
# make mutation MODULES="mentoring invitations". Writes mutation/report.json.
mutation: install
	nice -n 19 $(BIN)/python -m mutation.run $(MODULES)
