# threadlog — make run · make test · make bench
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
PIP     = $(VENV)/bin/pip
HOST   ?= 127.0.0.1
PORT   ?= 8000
export HOST PORT

.PHONY: run test bench install install-test browser-deps migrate demo serve clean check-compose audit

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) install -q -e '.[test]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

migrate: install
	$(VENV)/bin/threadlog migrate --verbosity 0

demo: migrate
	$(VENV)/bin/threadlog demo

## make run: install, migrate, load the demo thread, serve http://$(HOST):$(PORT) with daphne
run: demo
	$(VENV)/bin/threadlog serve --host $(HOST) --port $(PORT)

## Debian's Chromium for the browser tests (Playwright drives /usr/bin/chromium; it cannot download one)
browser-deps:
	@if [ ! -x /usr/bin/chromium ] || ! command -v docker-compose >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium docker-compose >/dev/null; \
		else echo "install chromium and docker-compose (apt-get) to run every test" >&2; fi; \
	fi

## make test: install the test dependencies and run the whole suite
test: install-test browser-deps
	$(VENV)/bin/pytest $(PYTEST_ARGS)

## make audit: pip-audit over the installed packages (make test runs it too: tests/security/test_dependencies.py)
audit: install-test
	$(VENV)/bin/pip-audit --skip-editable --progress-spinner off

## make bench: run every benchmark, each printing JSON
bench: install-test
	$(PY) benchmarks/append.py
	$(PY) benchmarks/rebuild.py
	$(PY) benchmarks/read.py
	$(PY) benchmarks/post.py
	$(PY) benchmarks/fanout.py
	$(PY) benchmarks/audit.py
	$(PY) benchmarks/latency.py
	$(PY) benchmarks/markdown.py
	$(PY) benchmarks/notify.py
	$(PY) benchmarks/subscribe.py

check-compose:
	docker-compose -f docker-compose.yml config -q

clean:
	rm -rf var/ .pytest_cache test-artifacts
