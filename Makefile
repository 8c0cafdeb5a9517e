# The two commands of the README: `make run` and `make test`. Both create .venv when missing.
VENV ?= .venv
PYTHON := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
ARGS ?=

.PHONY: run test unit bench clean

# Reinstalls only when the package definition or the pins change.
$(INSTALLED): setup.py constraints.txt
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade "pip>=23.2"
	$(PYTHON) -m pip install --ignore-requires-python -c constraints.txt -e '.[test]'
	touch $(INSTALLED)

run: $(INSTALLED)
	$(VENV)/bin/arith-tfx run $(ARGS)

test: $(INSTALLED)
	$(PYTHON) -m pytest $(ARGS)

unit: $(INSTALLED)
	$(PYTHON) -m pytest -m "not e2e" $(ARGS)

bench: $(INSTALLED)
	$(PYTHON) bench/generate_bench.py
	$(PYTHON) bench/trainer_bench.py

clean:
	rm -rf arith-tfx-root .pytest_cache
