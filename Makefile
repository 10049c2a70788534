# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3.11
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
test: venv
	bash scripts/services.sh
	. var/services.env && $(PY) -m pytest $(PYTEST_ARGS)

bench: venv
	bash scripts/services.sh
	. var/services.env && $(PY) bench/run.py
