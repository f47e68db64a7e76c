# Two commands: `make run` starts the local stack, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check test-odd-hours lint typecheck unit bench install clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	# The local stack's package (devstack/) is dev tooling, not in the wheel: on the path here only.
	$(BIN)/python -c 'import site; open(site.getsitepackages()[0] + "/cadence-devstack.pth", "w").write("$(CURDIR)\n")'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m devstack run

test: $(STAMP) lint typecheck
	$(BIN)/pytest

# The quick loop (under 30 seconds, docs/testing.md): lint, the import contracts, types, unit tests.
check: $(STAMP) lint typecheck unit

unit: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider tests/unit

# The time-sensitive tests at awkward instants under libfaketime (Debian's faketime package):
# a test that reads the wall clock fails here on any day. The instants are in .ci/odd-hours.
test-odd-hours: $(STAMP)
	PYTHON=$(BIN)/python .ci/odd-hours

lint: $(STAMP)
	$(BIN)/ruff check --no-cache .
	$(BIN)/ruff format --no-cache --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python -m bench.enroll
	$(BIN)/python -m bench.send
	$(BIN)/python -m bench.classify
	$(BIN)/python -m bench.shipping
	$(BIN)/python -m bench.people_sync
	$(BIN)/python -m bench.people_changes

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache
