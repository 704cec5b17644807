# Two commands on a fresh machine: `make run` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench bench-instructions install lint clean

# Before a venv is built: is $(PYTHON) one moisim runs on? Said plainly, before pip says it worse.
CHECK_PYTHON = @$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	echo "moisim needs Python 3.11 or newer, and '$(PYTHON)' is $$(command -v $(PYTHON) >/dev/null && $(PYTHON) --version 2>&1 || echo 'not installed')." >&2; \
	echo "Name one that is: make $(or $(MAKECMDGOALS),install) PYTHON=python3.11" >&2; exit 1; }

# The venv is built when it is missing or pyproject.toml changed, and then from scratch (--clear):
# one left by another Python, or by an install that failed half-way, is not kept.
$(STAMP): pyproject.toml
	$(CHECK_PYTHON)
	$(PYTHON) -m venv --clear $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/moisim serve $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench.run $(ARGS)

# Instruction counts under callgrind: steadier than wall-clock figures on a shared machine.
bench-instructions: $(STAMP)
	$(BIN)/python -m bench.instructions $(ARGS)

# ruff and mypy, in their own virtual environment so the test one stays as CI builds it.
LINT := .venv-lint
$(LINT)/.installed: pyproject.toml
	$(CHECK_PYTHON)
	$(PYTHON) -m venv --clear $(LINT)
	$(LINT)/bin/pip install --quiet --upgrade pip
	$(LINT)/bin/pip install --quiet -e '.[lint]'
	touch $@

lint: $(LINT)/.installed
	$(LINT)/bin/ruff check simulator tests bench
	$(LINT)/bin/mypy

# What the set-up built, never the store: ./moisim.db holds the orders of a server that may have
# served a team for weeks (delete it by hand to start afresh).
clean:
	rm -rf $(VENV) $(LINT) *.egg-info build .pytest_cache .mypy_cache .ruff_cache
