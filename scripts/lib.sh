# Shared bootstrap for scripts/run.sh and scripts/test.sh (sourced, not executed).
#   ensure_venv      create .venv if missing and install the dependencies from pyproject.toml
#   ensure_services  export DATABASE_URL (the app's role), OWNER_DATABASE_URL (the owner's role,
#                    for migrations and new schools) and REDIS_URL of servers that answer
#                    (embedded if needed); the two PostgreSQL roles are created if missing
#   stop_started     stop the embedded servers this script started (for an EXIT trap)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
EMBEDDED_STARTED=""

if [ -t 2 ]; then C_BOLD=$'\033[1m' C_YEL=$'\033[1;33m' C_RED=$'\033[1;31m' C_OFF=$'\033[0m'; else C_BOLD="" C_YEL="" C_RED="" C_OFF=""; fi
say() { printf '%s==> %s%s\n' "$C_BOLD" "$*" "$C_OFF" >&2; }
warn() { printf '%sWARNING: %s%s\n' "$C_YEL" "$*" "$C_OFF" >&2; }
fail() { printf '%sERROR: %s%s\n' "$C_RED" "$*" "$C_OFF" >&2; exit 1; }

find_python() {
  local cand
  for cand in "${PYTHON:-}" python3.11 python3 python; do
    [ -n "$cand" ] || continue
    command -v "$cand" >/dev/null 2>&1 || continue
    if "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$cand"; return 0
    fi
  done
  return 1
}

# $1: extras to install besides the base dependencies (default: test)
ensure_venv() {
  local extras="${1:-test}" python stamp want
  if [ ! -x "$PY" ]; then
    python="$(find_python)" || fail "Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)."
    say "Creating virtualenv $VENV with $($python --version 2>&1)"
    "$python" -m venv "$VENV" || fail "could not create the virtualenv (on Debian: apt-get install -y python3-venv)"
  fi
  # Reinstall only when pyproject.toml (or the wanted extras) changed.
  stamp="$VENV/.attendance-deps"
  want="$(sha256sum pyproject.toml | cut -d' ' -f1) $extras"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "Installing dependencies from pyproject.toml (extras: ${extras:-none})"
    "$PY" scripts/deps.py $extras || fail "pip install failed"
    echo "$want" > "$stamp"
  fi
  export PATH="$VENV/bin:$PATH"
}

ensure_services() {
  local exports
  mkdir -p var
  say "Checking PostgreSQL and Redis (EMBEDDED=${EMBEDDED:-auto})"
  exports="$("$PY" scripts/services.py up)" || fail "PostgreSQL/Redis are not available (see above)"
  eval "$exports"
  export DATABASE_URL OWNER_DATABASE_URL REDIS_URL
  say "DATABASE_URL=$DATABASE_URL"
  say "OWNER_DATABASE_URL=$OWNER_DATABASE_URL"
  say "REDIS_URL=$REDIS_URL"
}

stop_started() {
  if [ -n "$EMBEDDED_STARTED" ] && [ "${KEEP_SERVICES:-0}" != "1" ]; then
    say "Stopping the embedded servers started by this command: $EMBEDDED_STARTED"
    # shellcheck disable=SC2086
    "$PY" scripts/services.py down $EMBEDDED_STARTED || true
    EMBEDDED_STARTED=""
  fi
}

# Issue 14: compile the gettext catalogues (locale/*/LC_MESSAGES/django.po -> .mo; the .mo
# files are build output, not committed). Needs GNU gettext's msgfmt (Debian: gettext).
compile_messages() {
  if ! command -v msgfmt >/dev/null 2>&1; then
    fail "msgfmt (GNU gettext) is missing: the translations cannot be compiled.
  Install it with:   sudo apt-get install -y gettext"
  fi
  say "Compiling the translations (locale/)"
  python manage.py compilemessages --ignore=.venv --ignore=var -v 0
}
