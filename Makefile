# The two commands of the README. Each sets itself up on a fresh Debian machine:
# a virtual environment in .venv, Debian packages when missing, the cross-check readers.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CROSSCHECK_HOME := $(CURDIR)/.build/crosscheck
export CROSSCHECK_HOME

.PHONY: run test lint typecheck imports crosscheck-readers services benchmark clean

$(STAMP): pyproject.toml
	@command -v python3 >/dev/null && python3 -c 'import venv, ensurepip' 2>/dev/null || \
		{ apt-get update -qq && apt-get install -y -qq python3 python3-venv python3-pip; }
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

crosscheck-readers: $(STAMP)
	@bash tests/crosscheck/install.sh

# Real servers the tests start themselves: PostgreSQL 15 and OpenSSH's sshd from Debian.
services:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		{ apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; }
	@test -x /usr/sbin/sshd || \
		{ apt-get update -qq && apt-get install -y -qq openssh-server >/dev/null; }

# The main job on the example configuration (config/: SQLite and folder mailboxes under data/):
# Harborview's files are dropped in its inbox, one pass of the gateway takes them in (a bad one
# is quarantined with its report), and the orders and documents are listed.
DEMO_INBOX := data/mailboxes/harborview/in
run: $(STAMP)
	@mkdir -p $(DEMO_INBOX) data/mailboxes/harborview/out
	@$(VENV)/bin/gateway --config config/gateway.toml db upgrade
	@for f in 850/850_004010_good 850/850_004010_three_sets 850/850_004010VICS_good \
		860/860_004010_good_change 850/850_004010_bad_SE01_count; do \
		cp -p samples/$$f.x12 $(DEMO_INBOX)/; done
	@$(VENV)/bin/gateway --config config/gateway.toml run --once; status=$$?; [ $$status -le 1 ] || exit $$status
	@$(VENV)/bin/gateway --config config/gateway.toml orders list
	@$(VENV)/bin/gateway --config config/gateway.toml documents list
	@$(VENV)/bin/gateway --config config/gateway.toml mail list

lint: $(STAMP)
	$(VENV)/bin/ruff check gateway tests benchmarks
	$(VENV)/bin/ruff format --check gateway tests benchmarks

typecheck: $(STAMP)
	$(VENV)/bin/mypy --strict gateway

imports: $(STAMP)
	$(VENV)/bin/lint-imports

test: $(STAMP) crosscheck-readers services lint typecheck imports
	$(VENV)/bin/python -m pytest -q

benchmark: $(STAMP) crosscheck-readers
	$(PY) benchmarks/bench_codec.py

clean:
	rm -rf $(VENV) .build .mypy_cache .pytest_cache .ruff_cache
