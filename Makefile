# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# torch comes from a constraint: an unconstrained install pulls gigabytes of CUDA packages.
PIP := $(BIN)/pip install --quiet -c constraints.txt
STAMP := $(VENV)/.installed

.PHONY: setup run lint format test eval bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) torch==2.13.0
	$(PIP) -e '.[model,test]'
	touch $(STAMP)

run: setup
	$(BIN)/investbot run

# The lint, format and type gate runs before the tests, so CI (.ci/run: make test) enforces it. mypy reads its
# configuration (packages index and bot) from pyproject.toml.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Rewrites files: run it on a tree nobody else is editing.
format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	$(BIN)/python -m pytest -q

eval: setup
	$(BIN)/investbot eval

bench: setup
	$(PIP) -e '.[model,test,bench]'
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) data .pytest_cache
