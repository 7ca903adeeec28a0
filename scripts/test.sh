#!/usr/bin/env bash
# `make test`: bootstrap, then lint, migration check and the whole pytest suite.
# Extra pytest arguments: make test PYTEST_ARGS="-k registers -x"
# Without Chromium: BROWSER_TESTS=0 make test (skips tests marked `browser`).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
browser_args=()
if [ "${BROWSER_TESTS:-1}" = "0" ]; then
  warn "BROWSER_TESTS=0: skipping the browser tests (-m 'not browser')"
  browser_args=(-m "not browser")
elif [ ! -x "$CHROMIUM" ]; then
  fail "The browser tests need Debian's Chromium at $CHROMIUM, which is missing.
  Install it with:   sudo apt-get install -y chromium
  (or run without them: BROWSER_TESTS=0 make test)"
fi

ensure_venv test
ensure_services
# The test settings: the real ones with a fixed test-only SECRET_KEY and LOCAL_HTTP=1 (the
# test client and live server speak http). Production settings refuse to start without a key.
export DJANGO_SETTINGS_MODULE=attendance_site.settings_test
trap stop_started EXIT
mkdir -p var/staticfiles  # STATIC_ROOT; whitenoise warns on every request if it is missing

compile_messages
say "ruff check ."
ruff check .
say "lint-imports (the layer contracts in pyproject.toml, docs/architecture.md)"
lint-imports
say "makemigrations --check --dry-run"
python manage.py makemigrations --check --dry-run
# pytest-xdist: TEST_PROCESSES worker processes (default 2), each with its own test database,
# Redis keys and Celery queue; a file's tests stay in one worker (module-scoped fixtures).
# A single process: TEST_PROCESSES=0 make test.
parallel=(-n "${TEST_PROCESSES:-2}" --dist loadfile)
say "pytest --create-db ${parallel[*]} ${PYTEST_ARGS:-}"
status=0
# shellcheck disable=SC2086
python -m pytest --create-db "${parallel[@]}" "${browser_args[@]}" ${PYTEST_ARGS:-} || status=$?
if [ "$status" -eq 0 ]; then say "Tests passed"; else warn "pytest exited with status $status"; fi
exit "$status"
