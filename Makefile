# Two commands: `make run` serves the demo, `make test` runs the whole suite on both databases.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app app
DEV    := MENTORGROUPS_DEV=1
# `make run PORT=5001` serves on another port; links in emails follow it unless BASE_URL is set.
PORT     ?= 5000
BASE_URL ?= http://127.0.0.1:$(PORT)

.PHONY: run test test-sqlite test-postgresql install lint clean bench mutation soak

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

run: install
	$(DEV) $(FLASK) db upgrade
	$(DEV) $(FLASK) seed-demo --if-empty
	@echo "Serving http://127.0.0.1:$(PORT)  (Ctrl-C stops it; links in emails: $(BASE_URL))"
	$(DEV) BASE_URL=$(BASE_URL) $(FLASK) run --host 127.0.0.1 --port $(PORT)

test: install test-sqlite test-postgresql

test-sqlite: install
	MG_TEST_DB=sqlite $(BIN)/pytest -q

test-postgresql: install
	MG_TEST_DB=postgresql $(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) instance .pytest_cache test-artifacts

# groups_tree and reports print their tables; digest writes bench/results-digest.json; screens
# (every screen against its floor and a stock Flask-Admin list, 100,000 and 10,000 learners)
# writes bench/results.json and regenerates the README's table from both files.
bench: install
	$(BIN)/python bench/groups_tree.py
	$(BIN)/python bench/reports.py
	$(BIN)/python bench/digest.py
	$(BIN)/python bench/screens.py

# gunicorn, RQ workers and the scheduler under 50 simulated people for 60 s, with Redis
# restarted and SMTP refusing for 20 s: prints 5xx, latency percentiles and the email tally.
soak: install
	$(BIN)/python bench/soak.py

# Mutation testing of services/ and jobs/ (SQLite, niced: it is CPU heavy). One module or a few:
# make mutation MODULES="mentoring invitations". Writes mutation/report.json.
mutation: install
	nice -n 19 $(BIN)/python -m mutation.run $(MODULES)
