# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run demo test lint bench mutants clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# Set up from nothing, migrate the embedded SQLite database, load the demo data, and run the
# web service (http://127.0.0.1:8000/) with the worker and a local mail sink beside it (every message kept
# under var/mailbox, read at /mailbox). Ctrl-C stops all; if the worker cannot start, all stop with exit 1.
run: demo
	$(BIN)/smeflow up

# The same, without starting the services: print the demo cases and stop.
demo: $(STAMP)
	$(BIN)/smeflow init
	$(BIN)/smeflow demo
	$(BIN)/smeflow arrears demo

# The whole test suite (PostgreSQL tests run when SMEFLOW_TEST_DATABASE_URL is set).
# PYTEST_ARGS adds pytest options (CI: --junitxml=... for .ci/check_skips.py).
PYTEST_ARGS ?=
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

# Mutation testing (mutmut 3; not in CI, slow): mutates the money, audit-chain, sandbox, deadline,
# payout and scoping modules ([tool.mutmut] in pyproject.toml), runs the tests that cover each mutant,
# then prints the score per module and every surviving mutant. MUTANTS_TIMEOUT bounds the run (s);
# a stopped run resumes where it was. MUTANTS narrows the run to mutant names (wildcards allowed,
# e.g. MUTANTS='services.awards.payouts.*'); named mutants are run again. SQLite only.
MUTANTS_TIMEOUT ?= 7200
MUTANTS ?=
mutants: $(STAMP)
	$(BIN)/pip install -q 'mutmut==3.8.1'
	-env -u SMEFLOW_TEST_DATABASE_URL timeout -s INT $(MUTANTS_TIMEOUT) $(BIN)/mutmut run --max-children 2 $(MUTANTS)
	$(BIN)/python tools/mutants_score.py

bench: $(STAMP)
	$(BIN)/python benchmarks/route_throughput.py

clean:
	rm -rf $(VENV) var mutants
