# The two commands: `make run` opens the app on the bundled sample, `make test` runs every test headless.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test bench bench-accuracy lint clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

$(VENV)/.installed-bench: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[dev,bench]'
	touch $@

run: $(VENV)/.installed
	$(PY) main.py

test: $(VENV)/.installed-dev
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q --durations=15

bench: $(VENV)/.installed-bench
	QT_QPA_PLATFORM=offscreen $(PY) -m bench

# The range test against a grid search, on the samples and two generated datasets (about 35 minutes on 2 cores).
bench-accuracy: $(VENV)/.installed-bench
	$(PY) -m bench.range_test_accuracy --synthetic --out docs/range-test-accuracy.json | tee docs/range-test-accuracy.txt

lint: $(VENV)/.installed-dev
	$(PY) -m ruff check main.py engine gui tests bench tools

clean:
	rm -rf $(VENV)
