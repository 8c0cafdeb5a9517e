# The two commands of the README: `make run` and `make test`. Both create .venv when missing.
VENV ?= .venv
PYTHON := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
ARGS ?=

.PHONY: run test unit bench clean engine engine-tools

# Reinstalls only when the package definition or the pins change.
$(INSTALLED): setup.py constraints.txt
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade "pip>=23.2"
	$(PYTHON) -m pip install --ignore-requires-python -c constraints.txt -e '.[test]'
	touch $(INSTALLED)

run: $(INSTALLED)
	$(VENV)/bin/arith-tfx run $(ARGS)

# What the tests need besides Python: the local Flink engine of tests/flink_engine_e2e_test.py,
# its jars fetched with Maven and checked against cluster/flink/jars.sha256 (the job server's
# shaded jar too) before the tests start, so outside their time. Once cached it only checks them
# again (seconds). Java and Maven are checked first: without them it stops at once, with the fix.
engine-tools:
	@missing=""; packages=""; \
	command -v java >/dev/null 2>&1 || { missing="$$missing java"; packages="$$packages openjdk-17-jre-headless"; }; \
	command -v mvn >/dev/null 2>&1 || { missing="$$missing mvn"; packages="$$packages maven"; }; \
	if [ -n "$$missing" ]; then \
	  echo "make: missing:$$missing (Flink runs on Java 11 or 17; Maven fetches its jars for the tests)." >&2; \
	  echo "make: to fix it (Debian, as root): apt-get install$$packages" >&2; exit 1; \
	fi

engine: engine-tools $(INSTALLED)
	$(PYTHON) -m cluster.artifacts

# Two workers (pytest-xdist): the tests that share the session's tiny runs go to one of them
# (tests/conftest.py), the others to either.
test: engine-tools $(INSTALLED) engine
	$(PYTHON) -m pytest -n 2 --dist loadgroup $(ARGS)

unit: $(INSTALLED)
	$(PYTHON) -m pytest -m "not e2e" $(ARGS)

bench: $(INSTALLED)
	$(PYTHON) bench/generate_bench.py
	$(PYTHON) bench/trainer_bench.py

clean:
	rm -rf arith-tfx-root .pytest_cache
