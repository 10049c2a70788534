# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test venv services bench

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

venv: $(VENV)/.installed

# Start web + worker on the embedded default and print the admin login.
run: venv
	$(PY) scripts/run.py

# Install and start what the tests need, then run the whole suite.
# The suite runs on the embedded SQLite; the tests of claims and the pipeline
# run a second time on PostgreSQL, where row locks are real.
test: venv
	$(PY) -m ruff check .
	bash scripts/services.sh
	. var/services.env && $(PY) -m pytest $(PYTEST_ARGS)
	. var/services.env && { test -n "$$SKILLINSTALL_TEST_POSTGRES_URL" || \
	  { echo "make test: PostgreSQL is not available (see scripts/services.sh above)"; exit 1; }; } && \
	  DATABASE_URL="$$SKILLINSTALL_TEST_POSTGRES_URL" $(PY) -m pytest $(PYTEST_ARGS) \
	  tests/test_concurrency.py tests/test_pipeline.py

# Benchmarks; the figures in the README come from these two commands.
bench: venv
	$(PY) bench/conflicts.py
	$(PY) bench/install.py --trials 3
