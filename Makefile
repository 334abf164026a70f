# Two commands do all set-up on a fresh machine:
#   make demo   creates .venv, installs collector, runs the offline demo
#   make test   creates .venv, installs collector with its test extras (and pywb in .venv-pywb: see below),
#               runs ruff, mypy and the suite (all but the slow suites)
# make test-slow runs the slow suites (daemons, Chromium, pywb, the hostile web, every --help example,
# SIGKILL and race tests); CI (.ci/run) runs both
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
# pywb, which the tests replay collector's WARCs and WACZs with, lives in a virtualenv of its own: it cannot
# share collector's (its brotlipy shadows the Brotli that Scrapy decodes `br` with, and it pins
# redis==2.10.6, which scrapy-redis cannot use). The tests find it here (or in $COLLECTOR_TEST_PYWB).
PYWB_VENV    ?= .venv-pywb
PYWB_VERSION  = 2.10.0
# the suite runs on both cores (pytest-xdist); each worker starts its own local servers
PYTEST_WORKERS ?= 2
PYTEST = COLLECTOR_TEST_PYWB=$(abspath $(PYWB_VENV))/bin $(BIN)/python -m pytest -q -n $(PYTEST_WORKERS)

.PHONY: demo test test-slow lint typecheck bench clean pywb chromium nodejs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,postgres]'
	touch $@ $(VENV)/.installed

$(PYWB_VENV)/.installed-$(PYWB_VERSION):
	$(PYTHON) -m venv $(PYWB_VENV)
	$(PYWB_VENV)/bin/python -m pip install --quiet 'pywb==$(PYWB_VERSION)'
	touch $@

pywb: $(PYWB_VENV)/.installed-$(PYWB_VERSION)

# the web interface's browser tests drive Debian's chromium (no browser download is possible)
chromium:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	  || echo "Debian's chromium is not installed: the browser tests will be skipped (apt-get install chromium)"

# evidence packages' signatures are checked with the WebCrypto calls ReplayWeb.page makes, run by
# Debian's Node.js (tests/collector/evidence/webcrypto_verify.mjs); those tests fail without it
nodejs:
	@command -v node >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && apt-get update -qq \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs >/dev/null; } \
	  || echo "Debian's nodejs is not installed: the evidence signature tests will fail (apt-get install nodejs)"

demo: $(VENV)/.installed
	$(BIN)/collector demo

test: $(VENV)/.installed-test pywb chromium nodejs
	$(BIN)/ruff check .
	$(MAKE) typecheck
	$(PYTEST) -m "not slow"

test-slow: $(VENV)/.installed-test pywb chromium nodejs
	$(PYTEST) -m slow

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
	rm -rf $(VENV) $(PYWB_VENV) collector-data collector-demo .pytest_cache
