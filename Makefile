# Two commands do all set-up on a fresh machine:
#   make demo   creates .venv, installs collector, runs the offline demo
#   make test   creates .venv, installs collector with its test extras, runs ruff, mypy and the whole suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: demo test lint typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,postgres]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/collector demo

test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(MAKE) typecheck
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .

# mypy's settings are in pyproject.toml: strict on storage/ and spiders/, the default level elsewhere
typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

bench: $(VENV)/.installed-test
	$(BIN)/python bench/capture_bench.py
	$(BIN)/python bench/parse_bench.py
	$(BIN)/python bench/check_bench.py
	$(BIN)/python bench/serve_bench.py
	$(BIN)/python bench/soak_bench.py
	$(BIN)/python bench/feed_bench.py

clean:
	rm -rf $(VENV) collector-data collector-demo .pytest_cache
