# wikibridge: `make run` serves the desk with sandbox wikis; `make test` checks everything.
PYTHON ?= python3
VENV ?= .venv
WB = $(VENV)/bin/wikibridge
PORT ?= 5000
STATE ?= $(HOME)/.local/state/wikibridge
# The test run keeps its own sandbox wikis (ports apart from `make run`'s),
# reused across runs so a second `make test` starts in seconds.
TEST_SANDBOX ?= $(STATE)/test-sandbox
export WIKIBRIDGE_TEST_SANDBOX_DIR ?= $(TEST_SANDBOX)
export WIKIBRIDGE_TEST_COMMONS_PORT ?= 18181
export WIKIBRIDGE_TEST_META_PORT ?= 18182
export WIKIBRIDGE_TEST_OAUTH_PORT ?= 18180

.PHONY: run test lint typecheck unit security audit deps install clean-sandbox

$(VENV)/.installed: setup.cfg setup.py pyproject.toml sandbox/setup.cfg
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]' -e ./sandbox
	touch $@

install: $(VENV)/.installed

# axe-core, which the browser tests run on every page, from the npm registry.
AXE = tests/browser/node_modules/axe-core/axe.min.js
$(AXE): tests/browser/package.json tests/browser/package-lock.json
	@sh .ci/install-browser-test-packages
	touch $@

# Debian packages the sandbox wikis and the browser tests need, and axe-core.
deps: $(AXE)
	@sh .ci/install-debian-packages

# The desk's own address: links to it on the wikis (the Meta recruiting page) use it.
run: export WIKIBRIDGE_DESK_URL ?= http://127.0.0.1:$(PORT)
run: install deps
	$(WB) sandbox up
	$(WB) sandbox configure
	$(WB) db upgrade
	$(WB) demo load --grant-sample-volunteers >/dev/null
	$(WB) references scan >/dev/null
	-$(WB) recruiting publish >/dev/null
	@$(WB) sandbox accounts
	@echo "wikibridge is at http://127.0.0.1:$(PORT)/ (Ctrl-C stops it)"
	$(WB) run --host 127.0.0.1 --port $(PORT) --no-reload --with-threads

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy

unit: install
	$(VENV)/bin/pytest -q tests/unit

# The security suite alone (tests/security/), on both databases.
security: install
	WIKIBRIDGE_TEST_DATABASE=sqlite $(VENV)/bin/python -m pytest -q -p no:cacheprovider tests/security
	WIKIBRIDGE_TEST_DATABASE=postgresql $(VENV)/bin/python -m pytest -q -p no:cacheprovider tests/security

# Known vulnerabilities in the installed packages (needs the network: it asks
# the vulnerability database, so neither `make test` nor CI runs it).
audit: install
	$(VENV)/bin/python -m pip install -q pip-audit
	$(VENV)/bin/python -m pip_audit --local --skip-editable --progress-spinner off

test: install deps lint typecheck
	@echo "== test suite on SQLite"
	WIKIBRIDGE_TEST_DATABASE=sqlite $(VENV)/bin/pytest -q -p no:cacheprovider
	@echo "== test suite on PostgreSQL"
	WIKIBRIDGE_TEST_DATABASE=postgresql $(VENV)/bin/pytest -q -p no:cacheprovider

clean-sandbox: install
	-$(WB) sandbox down
	-WIKIBRIDGE_SANDBOX_DIR=$(TEST_SANDBOX) $(WB) sandbox down
