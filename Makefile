# GopherShip: `make run` starts the daemon on the embedded defaults, `make test` runs the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test check bench e2e clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv with gophership, gs-ctl and their dependencies

run: install  ## start the daemon on the embedded default configuration
	$(BIN)/gophership run

test: install  ## unit, property, conformance and end-to-end tests
	$(BIN)/python -m pytest

check: install  ## ruff (format + lint), mypy --strict, the sans-IO import ban
	scripts/check

bench: install  ## benchmarks; numbers go in bench/out/ and the README
	scripts/bench

clean:
	rm -rf $(VENV) build dist src/*.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis
