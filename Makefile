# The two commands a new user needs: `make demo` (install, then run swarmkit on
# the example stack) and `make test` (install, then lint, type-check and test).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint typecheck unit bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=25.1"
	$(BIN)/python -m pip install --quiet -e ".[django,deploy]" --group dev
	touch $(STAMP)

demo: install
	$(BIN)/swarmkit config -c examples/stack.yml -c examples/stack.production.yml --env-file examples/production.env --hash-names demo
	$(BIN)/swarmkit lint -c examples/stack.yml -c examples/stack.production.yml --env-file examples/production.env

lint: install
	$(BIN)/ruff check swarmkit tests benchmarks
	$(BIN)/ruff format --check swarmkit

typecheck: install
	$(BIN)/mypy swarmkit

unit: install
	$(BIN)/pytest -q

test: lint typecheck unit

bench: install
	$(BIN)/python benchmarks/config_speed.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
