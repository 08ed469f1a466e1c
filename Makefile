# The two commands: `make run` (serve the app with a worker and demo data) and `make test` (the whole suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test install install-test assets migrate demo lint typecheck pytest worker bench clean

run: install assets
	$(BIN)/bwv-review migrate
	$(BIN)/bwv-review demo --if-empty
	$(BIN)/bwv-review serve --host 127.0.0.1 --port 8000

test: install-test assets lint typecheck pytest

$(RUN_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $@

$(TEST_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[test]"
	touch $@ $(RUN_STAMP)

install: $(RUN_STAMP)
install-test: $(TEST_STAMP)

assets:
	bash scripts/build-assets.sh

migrate: install
	$(BIN)/bwv-review migrate

demo: install
	$(BIN)/bwv-review demo --if-empty

worker: install
	$(BIN)/bwv-review worker

lint: install-test
	$(BIN)/ruff check app workers tests bench
	$(BIN)/ruff format --check app workers tests bench

typecheck: install-test
	$(BIN)/mypy app workers

# The tests that stop, pause or restart a service (their own instances) run last, in a second pass.
pytest: install-test
	$(BIN)/pytest -m "not disruptive" $(PYTEST_ARGS)
	$(BIN)/pytest -m disruptive $(PYTEST_ARGS) || test $$? -eq 5

bench: install-test
	$(BIN)/python bench/analysis.py --quick

clean:
	rm -rf $(VENV) node_modules app/static/vendor
