# The two commands: `make run` starts everything, `make test` runs every test.
# Both set up from nothing and reuse what is already there.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test setup browser lint bench stack-up stack-down clean

run: setup
	$(BIN)/lifeevents run

# pytest names the slowest tests at the end: the command must stay under its 30 minutes.
test: setup browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest --durations=30

setup: $(STAMP)
	$(BIN)/lifeevents stack prepare

# Debian's Chromium for the browser tests (tests/browser), installed with apt-get when it is
# missing; never a browser `playwright install` downloads. `make run` needs none.
browser: $(STAMP)
	$(BIN)/python -m deploy.local.browser

# Reinstall only when the project's dependencies change.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=...)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# Benchmarks print figures on this machine; each starts a private Kafka and Temporal.
bench: setup
	$(BIN)/python benchmarks/orchestrator.py
	$(BIN)/python benchmarks/intake.py --private
	$(BIN)/lifeevents bench
	$(BIN)/python benchmarks/consent_gate.py
	$(BIN)/python benchmarks/resident_index.py

stack-up: setup
	$(BIN)/lifeevents stack up

stack-down:
	$(BIN)/lifeevents stack down

clean: stack-down
	rm -rf var
