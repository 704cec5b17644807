# Two commands on a fresh machine: `make run` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench bench-instructions install lint clean

# The venv is rebuilt only when pyproject.toml changes.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
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
	$(PYTHON) -m venv $(LINT)
	$(LINT)/bin/pip install --quiet --upgrade pip
	$(LINT)/bin/pip install --quiet -e '.[lint]'
	touch $@

lint: $(LINT)/.installed
	$(LINT)/bin/ruff check simulator tests bench
	$(LINT)/bin/mypy

clean:
	rm -rf $(VENV) $(LINT) *.egg-info .pytest_cache .mypy_cache .ruff_cache moisim.db moisim.db-wal moisim.db-shm
