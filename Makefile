# Two commands a newcomer needs: `make run` and `make test`. Everything else is installed by them.
PYTHON ?= python3
VENV := .venv
SYNAPSE_VENV := .synapse-venv
SYNAPSE_VERSION := 1.163.2
JS := tests/js

.PHONY: run test unit lint bench clean install synapse js browser screenshots

install: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

# Synapse lives in its own virtualenv so its pinned dependencies never meet ours.
synapse: $(SYNAPSE_VENV)/.installed
$(SYNAPSE_VENV)/.installed:
	$(PYTHON) -m venv $(SYNAPSE_VENV)
	$(SYNAPSE_VENV)/bin/pip install -q --upgrade pip
	$(SYNAPSE_VENV)/bin/pip install -q 'matrix-synapse==$(SYNAPSE_VERSION)'
	touch $@

# The Element-stack test client (matrix-js-sdk with its Rust crypto), for the cross-signing tests.
ifneq ($(wildcard $(JS)/package.json),)
js: $(JS)/node_modules/.installed
$(JS)/node_modules/.installed: $(JS)/package.json $(wildcard $(JS)/package-lock.json)
	cd $(JS) && npm ci --no-audit --no-fund --loglevel=error
	touch $@
else
js:
endif

# Headless Chromium for the browser tests, from Debian's package (Playwright's own browser download is not
# reachable everywhere); sudo only when not root.
CHROMIUM := /usr/bin/chromium
browser: $(CHROMIUM)
$(CHROMIUM):
	$$( [ "$$(id -u)" -eq 0 ] || echo sudo ) sh -c 'apt-get install -y -q chromium || { apt-get update -q && apt-get install -y -q chromium; }'

run: install synapse
	$(VENV)/bin/jourbot demo --root .

# ruff, the type checker (mypy, strict) and the structure check: no import cycles, imports one way, SQL only in bot/store.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/python .ci/check_structure.py

# pytest's exit code 5 (no tests collected) is a failure here, never a pass.
test: install synapse js browser lint
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "no tests were collected: failing"; exit 1; fi; exit $$rc

unit: install
	$(VENV)/bin/python -m pytest -q tests/unit

# Every benchmark at a short size (under 5 minutes on 2 CPUs), one after another; exit 1 if any target is missed or a
# run fails. Not part of `make test`. README, "Benchmarks", has the full sizes and what each measures.
BENCH := $(VENV)/bin/python bench
bench: install synapse
	@started=$$(date +%s); failed=""; \
	for run in "roster_lookup.py --lookups 20000" "engine_cost.py --history 300" \
	           "alarm_latency.py --alarms 20 --warmup 1 --settings base,both" \
	           "alarm_burst.py --size bench --scenarios floor,burst,lateness,flood"; do \
		echo "== bench/$$run"; $(BENCH)/$$run; rc=$$?; echo; \
		if [ $$rc -ge 128 ]; then exit $$rc; fi; [ $$rc -eq 0 ] || failed="$$failed\n  bench/$$run"; \
	done; \
	echo "make bench: $$(( $$(date +%s) - started )) s"; \
	if [ -n "$$failed" ]; then printf "targets missed (or the run failed) in:$$failed\n"; exit 1; fi

# The README's pictures, taken by the browser test from the example rosters (tests/browser).
screenshots: install synapse browser
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider tests/browser -k example_city
	mkdir -p docs/screenshots
	cp var/test-artifacts/browser/example-now.png docs/screenshots/now.png
	cp var/test-artifacts/browser/example-week.png docs/screenshots/week.png
	cp var/test-artifacts/browser/example-month.png docs/screenshots/month.png

clean:
	rm -rf $(VENV) $(SYNAPSE_VENV) var $(JS)/node_modules
