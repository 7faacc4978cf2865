# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
# pytest-xdist workers for `make test`: one per CPU; 0 runs the suite in one process.
TEST_WORKERS ?= auto
export FLASK_APP := wsgi
# For the local demo, links in pages, texts and calendar files point at the port it serves on
# (unless the environment says otherwise).
run seed: export PUBLIC_BASE_URL ?= http://127.0.0.1:$(PORT)

.PHONY: run test lint format install install-dev system-deps migrate seed bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Stamp files make the installs repeat only when a requirements file changes.
$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

# The page checks' tools (html-validate, axe-core), exactly as package-lock.json pins them.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Chromium (browser tests), wrk (bench/http.sh) and Node with npm (the page checks' tools) come
# from Debian's packages.
system-deps:
	@if [ ! -x /usr/bin/chromium ] || ! command -v wrk >/dev/null || ! command -v npm >/dev/null; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium wrk \
				$$(command -v npm >/dev/null || echo nodejs npm) >/dev/null; \
		else \
			echo "note: install Debian's chromium, wrk, nodejs and npm for the browser tests, page checks and benchmarks"; \
		fi; \
	fi

migrate: install
	$(BIN)/flask db upgrade

seed: migrate
	$(BIN)/flask seed-demo --if-empty

run: seed
	@echo ""
	@echo "  clinic is starting on http://127.0.0.1:$(PORT)"
	@echo "  booking:  http://127.0.0.1:$(PORT)/      staff sign-in: http://127.0.0.1:$(PORT)/login"
	@echo ""
	# `release` is a one-off (already done by `migrate`); run the long-lived processes.
	PATH="$(CURDIR)/$(BIN):$$PATH" HOST=127.0.0.1 $(BIN)/honcho start -f Procfile -p $(PORT) web scheduler

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: install-dev system-deps node_modules/.installed lint
	$(BIN)/pytest -n $(TEST_WORKERS)

bench: install-dev
	$(BIN)/python bench/triage.py
	$(BIN)/python bench/availability.py
	$(BIN)/python bench/booking_race.py
	$(BIN)/python bench/desk.py
	bash bench/http.sh

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache .import_linter_cache
