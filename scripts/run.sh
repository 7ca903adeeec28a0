#!/usr/bin/env bash
# `make run`: bootstrap, migrate, seed the demo schools, then run web + worker + beat.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

export DEBUG="${DEBUG:-1}"
# make run serves plain http on this machine: no Secure cookies, HSTS or https redirect.
export LOCAL_HTTP="${LOCAL_HTTP:-1}"
export WEB_PORT="${WEB_PORT:-8000}"
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-attendance_site.settings}"
# gunicorn reads GUNICORN_CMD_ARGS: reload on code changes in local (DEBUG) runs.
if [ "$DEBUG" = "1" ] || [ "$DEBUG" = "true" ]; then
  export GUNICORN_CMD_ARGS="${GUNICORN_CMD_ARGS:---reload}"
fi

port_busy() {
  "$PY" - "$1" <<'EOF'
import socket, sys
s = socket.socket()
try:
    s.bind(("0.0.0.0", int(sys.argv[1])))
except OSError:
    sys.exit(0)
sys.exit(1)
EOF
}

ensure_venv test
if port_busy "$WEB_PORT"; then
  fail "port $WEB_PORT is already in use (another \`make run\`?). Stop it or use WEB_PORT=8001 make run"
fi
ensure_services
trap stop_started EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p var/media
say "Migrating the shared (public) schema"
python manage.py migrate_schemas --shared
say "Migrating every school schema"
python manage.py migrate_schemas
compile_messages
say "Collecting static files into var/staticfiles"
python manage.py collectstatic --noinput -v 0

commands="$(python manage.py help --commands)"
if grep -qx seed_demo <<<"$commands"; then
  say "Seeding the demo schools"
  seed_args=()
  if [ "$WEB_PORT" != 8000 ] && grep -q -- "--port" <<<"$(python manage.py help seed_demo)"; then
    seed_args=(--port "$WEB_PORT")
  fi
  python manage.py seed_demo "${seed_args[@]}"
else
  warn "manage.py seed_demo does not exist yet: skipping the demo schools."
fi

say "Starting web (http://localhost:$WEB_PORT/, schools at http://<slug>.localhost:$WEB_PORT/), worker and beat. Ctrl-C stops everything."
# Not exec: the EXIT trap must run afterwards to stop the embedded servers.
honcho start -f Procfile
