# Two commands a newcomer needs: `make run` and `make test`. Everything else is installed by them.
PYTHON ?= python3
VENV := .venv
SYNAPSE_VENV := .synapse-venv
SYNAPSE_VERSION := 1.163.2
JS := tests/js

.PHONY: run run-ha test test-ha unit lint bench clean install synapse js browser postgres promtool deploy-tools screenshots lock python-ok \
	node-ok

# What the code and its tests need from the machine, checked before anything is installed, so a machine that lacks
# them is told what to install instead of failing later in a traceback. Debian 12 has Python 3.11 but Node 18.
python-ok:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "jourbot needs Python >= 3.11; '$(PYTHON)' is $$($(PYTHON) --version 2>&1 || echo missing)."; \
	  echo "  Debian 12 / Ubuntu 24.04: sudo apt-get install python3 python3-venv python3-dev gcc"; \
	  echo "  elsewhere: a Python >= 3.11 from python.org or pyenv, then: make PYTHON=/path/to/python3.11 ..."; \
	  exit 1; }
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { \
	  echo "'$(PYTHON)' has no venv module (Debian splits it off): sudo apt-get install python3-venv"; exit 1; }

node-ok:
	@node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' 2>/dev/null || { \
	  echo "the Element-stack test client (tests/js) needs Node.js >= 20 and npm; node is $$(node --version 2>&1 || echo missing)."; \
	  echo "  Debian 12's nodejs is 18: install Node.js 20 or newer from nodejs.org or NodeSource (deb.nodesource.com),"; \
	  echo "  or Debian 13: sudo apt-get install nodejs npm"; \
	  exit 1; }
	@command -v npm >/dev/null || { echo "npm is missing: sudo apt-get install npm (or Node.js from nodejs.org)"; exit 1; }

# Every Python package comes from a lock with hashes (`make lock` writes it from pyproject.toml): a fresh clone
# installs what the last green run installed, and a package altered on the index is refused. The lock also holds the
# build backend (setuptools), so the editable install needs nothing unlocked either.
LOCK := requirements.lock
TEST_LOCK := requirements-test.lock
install: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml $(TEST_LOCK) | python-ok
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --require-hashes -r $(TEST_LOCK)
	$(VENV)/bin/pip install -q --no-deps --no-build-isolation -e .
	touch $@

# Both locks from pyproject.toml (the image takes the runtime one; tests the other), with pinned uv. The runtime lock
# is constrained by the test lock so the two never name different versions (tests/unit/test_lock.py checks).
UV_VERSION := 0.13.9
UV := var/uv/bin/uv
BUILD_REQUIRES := $(PYTHON) -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"], sep="\n")'
lock: | python-ok
	[ -x $(UV) ] && $(UV) --version | grep -qx 'uv $(UV_VERSION)' || { $(PYTHON) -m venv var/uv && var/uv/bin/pip install -q 'uv==$(UV_VERSION)'; }
	$(BUILD_REQUIRES) | $(UV) pip compile -q pyproject.toml - --extra test --universal --generate-hashes \
	  --custom-compile-command 'make lock' -o $(TEST_LOCK)
	$(BUILD_REQUIRES) | $(UV) pip compile -q pyproject.toml - --universal --generate-hashes -c $(TEST_LOCK) \
	  --custom-compile-command 'make lock' -o $(LOCK)

# Synapse lives in its own virtualenv so its pinned dependencies never meet ours.
synapse: $(SYNAPSE_VENV)/.installed
$(SYNAPSE_VENV)/.installed: | python-ok
	$(PYTHON) -m venv $(SYNAPSE_VENV)
	$(SYNAPSE_VENV)/bin/pip install -q --upgrade pip
	$(SYNAPSE_VENV)/bin/pip install -q 'matrix-synapse==$(SYNAPSE_VERSION)'
	touch $@

# The Element-stack test client (matrix-js-sdk with its Rust crypto), for the cross-signing tests.
ifneq ($(wildcard $(JS)/package.json),)
js: $(JS)/node_modules/.installed
$(JS)/node_modules/.installed: $(JS)/package.json $(wildcard $(JS)/package-lock.json) | node-ok
	cd $(JS) && npm ci --no-audit --no-fund --loglevel=error
	touch $@
else
js:
endif

# Debian packages the tests need, installed when missing; sudo only when not root.
APT_INSTALL = $$( [ "$$(id -u)" -eq 0 ] || echo sudo ) sh -c 'apt-get install -y -q $(1) || { apt-get update -q && apt-get install -y -q $(1); }'

# Headless Chromium for the browser tests, from Debian's package (Playwright's own browser download is not
# reachable everywhere).
CHROMIUM := /usr/bin/chromium
browser: $(CHROMIUM)
$(CHROMIUM):
	$(call APT_INSTALL,chromium)

# The deployment's own tools (tests/deploy/): systemd-analyze checks bot/deploy/jourbot.service; podman builds and
# starts bot/deploy/Containerfile, with runc for the hosts where podman's default runtime fails, and debootstrap to
# build a stand-in base image where no container registry answers.
deploy-tools: /usr/bin/systemd-analyze /usr/bin/podman /usr/sbin/runc /usr/sbin/debootstrap
/usr/bin/systemd-analyze:
	$(call APT_INSTALL,systemd)
/usr/bin/podman:
	$(call APT_INSTALL,podman)
/usr/sbin/runc:
	$(call APT_INSTALL,runc)
/usr/sbin/debootstrap:
	$(call APT_INSTALL,debootstrap)

# promtool, which checks and tests the alert rules in bot/deploy/alerts.yml, from Debian's prometheus package (Debian
# has no package of promtool alone); sudo only when not root. On a machine that runs systemd the package also starts
# Prometheus itself on port 9090, which the tests do not use: `systemctl disable --now prometheus` stops it.
PROMTOOL := /usr/bin/promtool
promtool: $(PROMTOOL)
$(PROMTOOL):
	$(call APT_INSTALL,prometheus)

# PostgreSQL from Debian's package, for the store's tests in its second dialect (tests/harness/postgres.py starts a
# throwaway server of its own; the package's own cluster is not used); sudo only when not root.
POSTGRES_INITDB := $(firstword $(wildcard /usr/lib/postgresql/*/bin/initdb))
postgres:
ifeq ($(POSTGRES_INITDB),)
	$$( [ "$$(id -u)" -eq 0 ] || echo sudo ) sh -c 'apt-get install -y -q postgresql || { apt-get update -q && apt-get install -y -q postgresql; }'
endif

run: install synapse
	$(VENV)/bin/jourbot demo --root .

# An optional extra: `make run`'s demo with two instances on a PostgreSQL server from Debian's package (127.0.0.1),
# to watch one take over when the other is killed (bot/cli/demo_ha.py).
run-ha: install synapse postgres
	$(VENV)/bin/jourbot demo --root . --ha

# ruff, the type checker (mypy, strict) and the structure check: no import cycles, imports one way, SQL only in bot/store.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/python .ci/check_structure.py

# pytest's exit code 5 (no tests collected) is a failure here, never a pass.
test: install synapse js browser postgres promtool deploy-tools lint
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "no tests were collected: failing"; exit 1; fi; exit $$rc

# The soak of two instances under kill -9 (tests/soak, about 10 minutes): not in `make test`, which stays within its
# budget; CI (.ci/run) runs both. The processes' logs stay in var/test-ha until the next run.
test-ha: install synapse postgres
	mkdir -p var; $(VENV)/bin/python -m pytest -q -s -p no:cacheprovider --basetemp=var/test-ha -m soak tests/soak; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "no tests were collected: failing"; exit 1; fi; exit $$rc

unit: install postgres
	$(VENV)/bin/python -m pytest -q tests/unit

# Every benchmark at a short size (under 5 minutes on 2 CPUs), one after another; exit 1 if any target is missed or a
# run fails. Not part of `make test`. README, "Benchmarks", has the full sizes and what each measures.
BENCH := $(VENV)/bin/python bench
bench: install synapse
	@started=$$(date +%s); failed=""; \
	for run in "roster_lookup.py --lookups 20000" "engine_cost.py --history 300" \
	           "alarm_latency.py --alarms 20 --warmup 1 --settings base,both" \
	           "alarm_burst.py --size bench --scenarios floor,burst,lateness,flood" "login_flood.py --rounds 2"; do \
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
	cp var/test-artifacts/browser/example-week-print.png docs/screenshots/week-print.png
	cp var/test-artifacts/browser/example-week-print.pdf docs/screenshots/week-print.pdf
	cp var/test-artifacts/browser/example-month-print.pdf docs/screenshots/month-print.pdf

clean:
	rm -rf $(VENV) $(SYNAPSE_VENV) var $(JS)/node_modules
