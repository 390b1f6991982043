# Two entry points for a fresh machine (see README): `make demo` and `make test`.
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint

setup: $(BIN)/benchmark

$(BIN)/benchmark: pyproject.toml scripts/setup.sh
	bash scripts/setup.sh
	@touch $@

demo: setup
	$(BIN)/benchmark morphologies

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
