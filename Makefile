# One source of truth for the commands the README and CI use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint format bench fuzz clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=python3.11)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)  ## Create the virtual environment and install (reused on later runs).

run: $(STAMP)  ## Start the whole service on embedded defaults (Ctrl-C stops it).
	$(BIN)/hotline run

# Two pytest-xdist workers: each gets its own database and Redis (see tests/conftest.py).
PYTEST_WORKERS ?= 2

# PYTHONDONTWRITEBYTECODE emptied: where it is set, pytest re-rewrote the asserts of every test
# module in every worker on every run (3 of the 4 s a worker spends collecting); the cached
# rewrites are then kept in __pycache__ (git-ignored) and read by later runs.
test: $(STAMP)  ## Run the whole test suite (PYTEST_WORKERS=0 runs it in one process).
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -p xdist -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

lint: $(STAMP)  ## Lint, format check, type check and the layer contracts.
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

fuzz: $(STAMP)  ## Long random walks through the call flow (Hypothesis, HYPOTHESIS_PROFILE=long).
	HYPOTHESIS_PROFILE=long $(BIN)/pytest -q -p no:cacheprovider tests/ivr/test_call_flow_properties.py $(PYTEST_ARGS)

bench: $(STAMP)  ## Print the performance figures the issues ask for.
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || echo "($$script failed; bench/ticket_list.py needs PostgreSQL, see --url)"; done

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
