# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench bench-batch bench-batch-skewed sample-data clean

# setup.py and the C accelerator's source too: `pip install -e .` rebuilds the extension in place
$(STAMP): pyproject.toml setup.py kneeflags/parsers/_scan.c
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,dask]"
	@touch $(STAMP)

# The sample athletes' knee journal (alex's ITBS episode) lives in sample_data/journal.csv;
# `make run` imports it into a fresh journal under build/ so the reports show a return plan
# without touching the user's own journal. The sample data ends with the week of 16-22 Nov
# 2026: report that week (by default batch reports the last complete week today, and would show
# both sample athletes as stale).
SAMPLE_JOURNAL := build/sample-journal.sqlite

run: $(STAMP)
	@mkdir -p build && rm -f $(SAMPLE_JOURNAL) $(SAMPLE_JOURNAL)-wal $(SAMPLE_JOURNAL)-shm
	@$(BIN)/kneeflags log import sample_data/journal.csv --journal $(SAMPLE_JOURNAL) >/dev/null
	$(BIN)/kneeflags batch sample_data --out-dir reports --until 2026-11-22 --journal $(SAMPLE_JOURNAL)

test: $(STAMP)
	$(BIN)/ruff check kneeflags tests benchmarks
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check kneeflags tests benchmarks
	$(BIN)/ruff format --check kneeflags tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py --memory-files 3000

# 1,000 generated athletes x 20 runs, local pool vs a 2-worker Dask LocalCluster, cold and
# warm (about a quarter of an hour on 2 cores); e.g. BENCH_BATCH_ARGS="--athletes 200" for less.
BENCH_BATCH_ARGS ?=
bench-batch: $(STAMP)
	$(BIN)/python benchmarks/bench_batch.py $(BENCH_BATCH_ARGS)

# Issue 15's case: one athlete of 2,000 runs and nine of 50, the shared pool of files against
# one task per athlete, cold, 3 repetitions (about 2 minutes on 2 cores).
bench-batch-skewed: $(STAMP)
	$(BIN)/python benchmarks/bench_batch.py --skewed 2000,9,50 --reps 3 $(BENCH_BATCH_ARGS)

sample-data: $(STAMP)
	$(BIN)/python sample_data/generate.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
