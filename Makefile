# Two entry points for a fresh machine (see README): `make demo` and `make test`.
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint bench board

setup: $(BIN)/benchmark

$(BIN)/benchmark: pyproject.toml scripts/setup.sh
	bash scripts/setup.sh
	@touch $@

demo: setup
	$(BIN)/benchmark morphologies
	$(BIN)/benchmark tasks
	$(BIN)/benchmark run --agent random -o results/demo-random --resume
	$(BIN)/benchmark run --agent baselines:pretrained -o results/demo-pretrained --resume

# The MJX backend's tests in a process of their own: JAX starts threads, and the other tests
# fork worker processes, which a multithreaded parent may deadlock.
test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest --ignore=tests/test_mjx_env.py
	$(BIN)/python -m pytest tests/test_mjx_env.py

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Speed: pytest-benchmark, stages side by side in one run (never a timed assertion), then
# one summary table; MyoSuite's environment lives in .venv-myosuite (scripts/setup_myosuite.sh).
bench: setup .venv-myosuite/bin/python
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
		$(BIN)/python -m pytest benchmarks -m speed --benchmark-only \
		--benchmark-columns=min,mean,stddev,rounds

.venv-myosuite/bin/python: scripts/setup_myosuite.sh
	bash scripts/setup_myosuite.sh

# The baselines on a leaderboard, verified, and its static site in site/.
board: setup
	bash scripts/baseline_board.sh site
