# The two commands of the README. Each sets itself up on a fresh Debian machine:
# a virtual environment in .venv, Debian packages when missing, the cross-check readers.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CROSSCHECK_HOME := $(CURDIR)/.build/crosscheck
export CROSSCHECK_HOME

.PHONY: run serve test test-fast lint typecheck imports crosscheck-readers bots services browser benchmark fuzz soak clean

$(STAMP): pyproject.toml
	@command -v python3 >/dev/null && python3 -c 'import venv, ensurepip' 2>/dev/null || \
		{ apt-get update -qq && apt-get install -y -qq python3 python3-venv python3-pip; }
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

crosscheck-readers: $(STAMP)
	@bash tests/crosscheck/install.sh

# Bots EDI 3.3.1 (PyPI), in an environment of its own, for benchmarks/bench_bots.py: nothing of
# Bots is in the repository. Bots imports ugettext (gone in Django 4) and
# python_2_unicode_compatible (gone in Django 3): Django is pinned to 2.2.
BOTS_VENV := .build/bots-venv
BOTS_STAMP := $(BOTS_VENV)/.installed
$(BOTS_STAMP):
	python3 -m venv $(BOTS_VENV)
	$(BOTS_VENV)/bin/pip install -q --disable-pip-version-check bots-ediint==3.3.1 'Django>=2.2,<2.3'
	touch $(BOTS_STAMP)

bots: $(BOTS_STAMP)

# Real servers the tests start themselves: PostgreSQL 15 and OpenSSH's sshd from Debian.
services:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		{ apt-get update -qq && apt-get install -y -qq postgresql >/dev/null; }
	@test -x /usr/sbin/sshd || \
		{ apt-get update -qq && apt-get install -y -qq openssh-server >/dev/null; }

# The headless browser the web console's tests drive: Debian's Chromium and its chromedriver.
browser:
	@test -x /usr/bin/chromium -a -x /usr/bin/chromedriver || \
		{ apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null; }

# The main job on the example configuration (config/: SQLite and folder mailboxes under data/,
# Harborview buying from us by EDI, Pinecrest selling to us by email), from an empty data/
# folder: Harborview's files arrive and are taken in (a bad one is quarantined with its report),
# then a day of an operator on one order, and what happened is listed. Emails are captured in
# data/mail/captured/ (no SMTP server is configured).
# The demo's cXML buyer signs its documents with the secret its sample carries; a real
# deployment sets NORTHWIND_CXML_SECRET (or its partner's variable) in the environment.
GW := NORTHWIND_CXML_SECRET="$${NORTHWIND_CXML_SECRET:-not-a-real-secret}" \
	$(VENV)/bin/gateway --config config/gateway.toml
NORTHWIND_PO := NW-PO-20481
DEMO_PO := HV4500871250
run: $(STAMP)
	@rm -rf data && for p in harborview pinecrest northwind alpenhof; do \
		mkdir -p data/mailboxes/$$p/in data/mailboxes/$$p/out; done
	@$(GW) db upgrade
	@echo; echo "== Harborview's files arrive and are taken in"
	@for f in 850/850_004010_good 850/850_004010_three_sets 850/850_004010VICS_good \
		860/860_004010_good_change 850/850_004010_bad_SE01_count; do \
		cp -p samples/$$f.x12 data/mailboxes/harborview/in/; done
	@$(GW) run --once; status=$$?; [ $$status -le 1 ] || exit $$status
	@echo; echo "== The day of order $(DEMO_PO): acknowledged, shipped in two parts, a line cancelled, invoiced"
	@$(GW) ack $(DEMO_PO) --accept-all
	@$(GW) fulfil $(DEMO_PO) --id F-1 --line 1:1 --carrier UPS --tracking 1Z999AA10123456784 \
		--tracking-url "https://www.ups.com/track?tracknum=1Z999AA10123456784"
	@$(GW) fulfil $(DEMO_PO) --id F-2 --line 2:2 --carrier FedEx --tracking 748900000010
	@$(GW) cancel $(DEMO_PO) --line 3:2 --reason "out of stock until spring" --by seller
	@$(GW) invoice $(DEMO_PO)
	@echo; echo "== A test order for Pinecrest, who takes orders by email"
	@$(GW) test-order --partner pinecrest
	@echo; echo "== Northwind's procurement system sends a cXML order, then changes it: each is answered with a cXML Response"
	@cp -p samples/cxml/order_request_new.xml data/mailboxes/northwind/in/
	@$(GW) run --once
	@cp -p samples/cxml/order_request_update.xml data/mailboxes/northwind/in/
	@$(GW) run --once
	@$(GW) ack $(NORTHWIND_PO) --accept-all
	@$(GW) fulfil $(NORTHWIND_PO) --id NW-1 --line 1:12 --line 2:4 --carrier UPS \
		--tracking 1Z999AA10123456784 --tracking-url "https://www.ups.com/track?tracknum=1Z999AA10123456784"
	@echo; echo "== A test order for Alpenhof, who trade in spreadsheets: our order goes out as their CSV, their CSV ship notice comes back"
	@po=$$($(GW) test-order --partner alpenhof --json | $(PY) -c 'import json, sys; print(json.load(sys.stdin)["po_number"])') && \
		echo "placed $$po with Alpenhof" && \
		printf 'Bestellnummer;Position;Menge;Spediteur;Sendungsnummer;Sendungsverfolgung;Versanddatum\r\n%s;1;1;UPS;1Z999AA10123456784;;%s\r\n%s;2;2;UPS;1Z999AA10123456784;;%s\r\n' \
		"$$po" "$$(date +%d.%m.%Y)" "$$po" "$$(date +%d.%m.%Y)" > data/mailboxes/alpenhof/in/versand.csv
	@echo; echo "== One more pass: the documents go out (Confirmed once our 855 is delivered), the emails are written"
	@$(GW) run --once
	@echo; echo "== Harborview's 997s accept our documents: the order is Completed; the carrier's scans go on"
	@n=900; for f in data/mailboxes/harborview/out/8*.x12; do n=$$((n+1)); \
		$(GW) ack-file --control $$n "$$f" > "data/mailboxes/harborview/in/997_for_$$(basename "$$f")"; done
	@$(GW) run --once
	@$(GW) shipment $(DEMO_PO) F-1 --status delivered
	@echo; $(GW) orders show $(DEMO_PO)
	@echo; echo "== Every order (open and archived, test orders included), then a search by tracking number"
	@$(GW) orders list --all --include-test
	@$(GW) orders list --all --search 1z999aa1
	@echo; echo "== The day's report: orders, quarantine, late documents"
	@$(GW) report
	@echo; $(GW) mail list
	@echo; echo "Emails written to data/mail/captured/; documents for each partner in data/mailboxes/PARTNER/out/"
	@ls data/mailboxes/northwind/out data/mailboxes/alpenhof/out
	@echo "To look at this day in the web console: make serve (then open http://127.0.0.1:8080/)"

# The web console on the demo data of `make run` (made first when there is none), as the user
# admin: with the password in GATEWAY_PASSWORD, or a new one printed once.
serve: $(STAMP)
	@test -f data/gateway.db || $(MAKE) --no-print-directory run
	@$(GW) users list --json | grep -q '"name": "admin"' || { \
		pw="$${GATEWAY_PASSWORD:-$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(12))')}"; \
		GATEWAY_PASSWORD="$$pw" $(GW) users add admin --role admin >/dev/null && \
		echo "Sign in as admin with the password $$pw (GATEWAY_PASSWORD chooses it)"; }
	@echo "The console: http://127.0.0.1:8080/ (Ctrl-C stops it)"
	@$(GW) serve

lint: $(STAMP)
	$(VENV)/bin/ruff check gateway tests benchmarks
	$(VENV)/bin/ruff format --check gateway tests benchmarks

typecheck: $(STAMP)
	$(VENV)/bin/mypy --strict gateway

imports: $(STAMP)
	$(VENV)/bin/lint-imports

# The suite on both cores (pytest-xdist): each worker starts its own PostgreSQL and sshd.
test: $(STAMP) crosscheck-readers services browser lint typecheck imports
	$(VENV)/bin/python -m pytest -q -n 2

# The fast tier: the unit tests but the slow property and memory ones and the browser's, in seconds.
test-fast: $(STAMP)
	$(VENV)/bin/python -m pytest -q -m "not slow and not browser" tests/unit

benchmark: $(STAMP) crosscheck-readers $(BOTS_STAMP)
	$(PY) benchmarks/bench_codec.py
	$(PY) benchmarks/bench_bots.py

# Coverage-guided fuzzing (atheris) of the codec and of the whole inbound path, for longer than
# `make test` does: FUZZ_SECONDS per target, the corpus kept in .build/fuzz/ between runs, a
# crashing input left in .build/fuzz/ as crash-*.
FUZZ_SECONDS ?= 600
# The soak run: a day's traffic for three buyers compressed into SOAK_MINUTES, a daemon killed
# (-9) and its SFTP and SMTP servers taken down at random, compared with an undisturbed run.
SOAK_MINUTES ?= 5
SOAK_SEED ?= 1
soak: $(STAMP) services
	$(PY) -m tests.soak --minutes $(SOAK_MINUTES) --seed $(SOAK_SEED) --json .build/soak.json

fuzz: $(STAMP)
	@for target in codec ingest; do mkdir -p .build/fuzz/$$target; \
		(cd .build/fuzz && PYTHONPATH=$(CURDIR) $(CURDIR)/$(PY) -m tests.fuzz $$target \
			-max_total_time=$(FUZZ_SECONDS) -max_len=8192 -rss_limit_mb=2048 \
			-print_final_stats=1 $$target) || exit 1; done

clean:
	rm -rf $(VENV) .build .mypy_cache .pytest_cache .ruff_cache
