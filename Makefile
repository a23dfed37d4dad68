# codboard developer tasks; `make` with no target lists them.

PYTHON ?= python3
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help run test lint vendor clean

help:
	@echo "make run     set up the venv, migrate, seed demo data and serve on http://127.0.0.1:5000/"
	@echo "make test    run the test suite on SQLite, then on PostgreSQL if TEST_DATABASE_URL is set"
	@echo "make lint    ruff check"
	@echo "make vendor  re-fetch the pinned htmx, Pico CSS, Swagger UI (static/vendor/) and axe-core (tests/browser/vendor/)"
	@echo "make clean   delete .venv/ and instance/ (including the demo database)"
	@echo "make chaos   the chaos run (RELIABILITY.md): KILLS=100 worker kills, Redis restarts, replays; PostgreSQL db 'chaos'"
	@echo "Variables: PYTHON=$(PYTHON) (interpreter for the venv), PYTEST_ARGS=..., KILLS=..., CHAOS_ARGS=..."

.venv/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
		echo "codboard needs Python >= 3.11, but $(PYTHON) is $$($(PYTHON) --version 2>/dev/null || echo "not found")." >&2; \
		echo "Install a newer Python or run e.g. make PYTHON=python3.12 ..." >&2; \
		exit 1; }
	$(PYTHON) -m venv .venv
	.venv/bin/python -m pip install --upgrade pip
	.venv/bin/python -m pip install -e '.[dev]'
	touch $@

run: .venv/.installed
	.venv/bin/python scripts/run.py

# pytest exits 5 when it collects nothing; make treats any non-zero status as failure.
test: .venv/.installed
	.venv/bin/python -m pytest $(PYTEST_ARGS)
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "CODBOARD_TEST_DATABASE=postgres .venv/bin/python -m pytest $(PYTEST_ARGS)"; \
		CODBOARD_TEST_DATABASE=postgres .venv/bin/python -m pytest $(PYTEST_ARGS); \
	elif [ -n "$$CODBOARD_REQUIRE_POSTGRES" ]; then \
		echo "PostgreSQL pass required but TEST_DATABASE_URL is not set" >&2; exit 1; \
	else \
		echo "PostgreSQL pass skipped: TEST_DATABASE_URL is not set" \
			"(set it to postgresql+psycopg://user@host/db to run it)"; \
	fi

lint: .venv/.installed
	.venv/bin/ruff check .

vendor:
	bash scripts/vendor.sh

# Deletes the virtualenv and instance/, which holds the demo SQLite database and Redis data.
clean:
	rm -rf .venv instance

# Load benchmarks, not part of `make test` (BENCHMARKS.md): QUICK=1 for the short run,
# BENCH_DATABASE_URL=... to choose the database, BENCH_ARGS=... for bench/run.py options.
.PHONY: bench
bench: .venv/.installed
	.venv/bin/python -m bench.run $(if $(QUICK),--quick) $(BENCH_ARGS)

# The chaos run, not part of `make test` (RELIABILITY.md): two gunicorns and two RQ workers on
# the PostgreSQL database `chaos` (dropped and re-created) and a private Redis on port 6390;
# KILLS=... worker SIGKILLs, CHAOS_ARGS=... for bench/chaos options (--max-minutes, ...).
KILLS ?= 100
.PHONY: chaos
chaos: .venv/.installed
	.venv/bin/python -m bench.chaos --kills $(KILLS) $(CHAOS_ARGS)
