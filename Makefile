# Quick start:  make run   (web + worker + beat with the demo schools)
#               make test  (lint, migration check and the whole test suite; what CI runs)
# Knobs: EMBEDDED=1 (always use embedded PostgreSQL/Redis under ./var), EMBEDDED=wheels,
#        EMBEDDED=0 (never start them), DATABASE_URL (the app's role), OWNER_DATABASE_URL
#        (the owner's role), ADMIN_DATABASE_URL (a superuser that creates both), REDIS_URL, DEBUG, WEB_PORT,
#        PYTEST_ARGS="-k name", BROWSER_TESTS=0, KEEP_SERVICES=1, PYTHON=python3.11

SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help run test install services stop status

help:
	@echo "make run       start web (http://localhost:8000), Celery worker and beat with the demo schools"
	@echo "make test      ruff, lint-imports, makemigrations --check and pytest (the command CI runs)"
	@echo "make install   create .venv and install the dependencies from pyproject.toml"
	@echo "make services  make sure PostgreSQL and Redis answer (start embedded ones under ./var)"
	@echo "make status    show the embedded servers running under ./var"
	@echo "make stop      stop the embedded PostgreSQL and Redis under ./var"

run:
	@bash scripts/run.sh

test:
	@bash scripts/test.sh

install:
	@bash -c 'source scripts/lib.sh && ensure_venv test'

# Leaves the servers running; prints the variables to use them from another shell.
services:
	@bash -c 'source scripts/lib.sh && ensure_venv test && ensure_services && printf "export DATABASE_URL=%q OWNER_DATABASE_URL=%q REDIS_URL=%q\n" "$$DATABASE_URL" "$$OWNER_DATABASE_URL" "$$REDIS_URL"'

status:
	@bash -c 'source scripts/lib.sh; p="$$PY"; [ -x "$$p" ] || p=python3; "$$p" scripts/services.py status'

stop:
	@bash -c 'source scripts/lib.sh; p="$$PY"; [ -x "$$p" ] || p=python3; "$$p" scripts/services.py down'
