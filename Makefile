# Quick start: `make run` serves the sample job, `make test` runs the whole test suite.
.PHONY: run test lint bench

run:
	bash scripts/run-sample

test:
	bash scripts/test

lint:
	bash scripts/dev-env && .venv/bin/ruff check src tests bench

bench:
	bash scripts/dev-env && .venv/bin/python -m bench
