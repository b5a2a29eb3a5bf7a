# Two commands: `make run` serves the demo, `make test` runs the whole suite on both databases.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app app
DEV    := MENTORGROUPS_DEV=1

.PHONY: run test test-sqlite test-postgresql install lint clean bench soak

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
	@echo "Serving http://127.0.0.1:5000  (Ctrl-C stops it)"
	$(DEV) $(FLASK) run --host 127.0.0.1 --port 5000

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
