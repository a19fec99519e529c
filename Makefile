# The README's Quick start: `make run` (the main job: the live demo, docs/demo.md) and `make test`
# (the whole suite).
# Each does its own set-up through scripts/bootstrap.sh.
VENV ?= .venv
PY := $(VENV)/bin/python
ARGS ?=

.PHONY: run test check lint typecheck bench agent-zipapp docs clean

run:
	@scripts/bootstrap.sh run
	$(VENV)/bin/guestpatch demo $(ARGS)

test:
	@scripts/bootstrap.sh test
	$(MAKE) --no-print-directory check
	$(PY) -m pytest $(ARGS)

check: lint typecheck

lint:
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/lint-imports

typecheck:
	$(VENV)/bin/mypy

bench:
	@scripts/bootstrap.sh test
	$(PY) -m bench $(ARGS)

agent-zipapp:
	@scripts/bootstrap.sh run
	$(PY) -m guestpatch_agent.build dist/guestpatch-agent.pyz

clean:
	rm -rf $(VENV) dist build .pytest_cache .mypy_cache .ruff_cache

docs:
	@scripts/bootstrap.sh run
	$(PY) -m guestpatch.docgen
	$(PY) -m guestpatch.cli.docs
