# Two commands: `make run` starts the local stack, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-odd-hours lint typecheck unit bench install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/cadence dev

test: $(STAMP) lint typecheck
	$(BIN)/pytest

# The time-sensitive tests at awkward instants under libfaketime (Debian's faketime package):
# a test that reads the wall clock fails here on any day. The instants are in .ci/odd-hours.
test-odd-hours: $(STAMP)
	PYTHON=$(BIN)/python .ci/odd-hours

lint: $(STAMP)
	$(BIN)/ruff check --no-cache .
	$(BIN)/ruff format --no-cache --check .

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench.enroll
	$(BIN)/python -m bench.send
	$(BIN)/python -m bench.classify
	$(BIN)/python -m bench.shipping
	$(BIN)/python -m bench.people_sync

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache
