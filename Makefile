# Quick start: `make demo` and `make test` set everything up on a fresh machine with Python 3.11.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test golden bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/chainrule solve inf264_hw4 --out out

test: $(VENV)/.installed-test
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q -n 3

# Regenerate the golden answer sheets on purpose, after checking the change is wanted.
golden: $(VENV)/.installed-test
	$(BIN)/python -m tests.regenerate_golden

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/solve.py

clean:
	rm -rf $(VENV) out build dist .pytest_cache
