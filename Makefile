# GopherShip: `make run` starts the daemon on the embedded defaults, `make test` runs the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test check bench bench-quick e2e clean

$(STAMP): pyproject.toml tests/e2e/js/package-lock.json
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	# The OpenTelemetry JS SDK: the real OTLP/HTTP JSON client of the end-to-end tests.
	npm ci --silent --no-audit --no-fund --prefix tests/e2e/js
	touch $(STAMP)

install: $(STAMP)  ## create .venv with gophership, gs-ctl and their dependencies

run: install  ## start the daemon on the embedded default configuration
	$(BIN)/gophership run

test: install  ## unit, property, conformance and end-to-end tests
	$(BIN)/python -m pytest

check: install  ## ruff (format + lint), mypy --strict, the sans-IO import ban
	scripts/check

bench: install  ## the benchmark suite (3 runs + warm-up; PEERS=1 adds rsyslog, syslog-ng)
	scripts/bench $(if $(filter 1,$(PEERS)),--peers)

bench-quick: install  ## the same scenarios, fewer lines, one run: under two minutes
	scripts/bench --quick $(if $(filter 1,$(PEERS)),--peers)

clean:
	rm -rf $(VENV) build dist src/*.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis
