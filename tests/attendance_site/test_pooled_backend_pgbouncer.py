"""Issue 18.6: the app behind pgbouncer in transaction pooling never reads another school.

A real pgbouncer (Debian's package) is started on a free port with a pool of ONE server
connection, so two schools' work interleaved through it shares that server connection. With
django-tenants' own backend the search_path set for one school is left on the server connection
and the other school's next statement reads the first school's table (shown as the control);
with attendance_site/pooled_backend (DATABASE_POOLING=transaction) every statement carries its
own school's search_path, and nothing is left behind.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from django.db import connection
from django.db.utils import load_backend

from attendance_site.db_roles import as_owner
from tenants import provisioning

PGBOUNCER = shutil.which("pgbouncer") or ("/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer")
                                          else None)
pytestmark = pytest.mark.skipif(
    PGBOUNCER is None, reason="pgbouncer is not installed (Debian: apt-get install pgbouncer; "
                              ".ci/run installs it)")
SCHOOLS = {"pool_a": "only-in-A", "pool_b": "only-in-B"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def two_schools(django_db_setup, django_db_blocker):
    """Two committed school schemas, each with one class only it has."""
    with django_db_blocker.unblock():
        with as_owner(), connection.cursor() as cur:
            for schema in SCHOOLS:
                cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        for schema, name in SCHOOLS.items():
            provisioning.schema_clone(schema)
            with as_owner(), connection.cursor() as cur:
                cur.execute(f'INSERT INTO "{schema}".registers_registrationgroup (name, year_group) '
                            "VALUES (%s, 3)", [name])
        settings_dict = dict(connection.settings_dict)
    yield settings_dict
    with django_db_blocker.unblock(), as_owner(), connection.cursor() as cur:
        for schema in SCHOOLS:
            cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="module")
def pgbouncer(two_schools):
    """pgbouncer in transaction pooling, trusting 127.0.0.1, one server connection in the pool."""
    db = two_schools
    port = _free_port()
    folder = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    folder.chmod(0o755)  # pgbouncer drops root for nobody, who must read its files
    (folder / "users.txt").write_text(f'"{db["USER"]}" ""\n')
    (folder / "pgbouncer.ini").write_text(f"""[databases]
{db["NAME"]} = host={db["HOST"] or "127.0.0.1"} port={db["PORT"] or 5432} dbname={db["NAME"]}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder / "users.txt"}
pool_mode = transaction
default_pool_size = 1
max_client_conn = 10
server_reset_query =
ignore_startup_parameters = extra_float_digits,options
""")
    for f in folder.iterdir():
        f.chmod(0o644)
    cmd = [PGBOUNCER, str(folder / "pgbouncer.ini")] + (["-u", "nobody"] if os.geteuid() == 0 else [])
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"pgbouncer did not start: {proc.stdout.read().decode()[-2000:]}")
                time.sleep(0.05)
        yield {**db, "HOST": "127.0.0.1", "PORT": str(port)}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def pool(pgbouncer, django_db_blocker):
    with django_db_blocker.unblock():
        yield pgbouncer


def _through_pool(settings_dict, engine: str, alias: str):
    d = {**settings_dict, "ENGINE": engine, "CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": False,
         "DISABLE_SERVER_SIDE_CURSORS": True}
    return load_backend(engine).DatabaseWrapper(d, alias)


def _classes(conn) -> list[str]:
    with conn.cursor() as cur:
        cur.execute("SELECT name FROM registers_registrationgroup WHERE name LIKE %s", ["only-in-%"])
        return [r[0] for r in cur.fetchall()]


def _backend_pid(conn) -> int:
    with conn.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        return cur.fetchone()[0]


def _interleave(pool_settings, engine):
    a = _through_pool(pool_settings, engine, "pool_a")
    b = _through_pool(pool_settings, engine, "pool_b")
    try:
        a.set_schema("pool_a")  # what TenantMainMiddleware does for each request's school
        b.set_schema("pool_b")
        seen = []
        for _ in range(5):
            seen.append(("A", _classes(a)))
            seen.append(("B", _classes(b)))
        return seen, {_backend_pid(a), _backend_pid(b)}
    finally:
        a.close()
        b.close()


def test_two_schools_interleaved_through_one_pooled_connection_never_read_each_other(pool):
    seen, server_connections = _interleave(pool, "attendance_site.pooled_backend")
    assert len(server_connections) == 1  # both schools' statements ran on one server connection
    assert seen == [("A", ["only-in-A"]), ("B", ["only-in-B"])] * 5


def test_the_search_path_is_not_left_on_the_server_connection(pool):
    a = _through_pool(pool, "attendance_site.pooled_backend", "pool_a")
    raw = _through_pool(pool, "django.db.backends.postgresql", "raw")
    try:
        a.set_schema("pool_a")
        assert _classes(a) == ["only-in-A"]
        with raw.cursor() as cur:  # the next client of the same server connection
            cur.execute("SELECT current_setting('search_path'), pg_backend_pid()")
            path, pid = cur.fetchone()
        assert pid == _backend_pid(a)
        assert "pool_a" not in path
    finally:
        a.close()
        raw.close()


def test_a_figures_querys_memory_setting_stays_in_its_statement(pool, monkeypatch):
    """The dashboards send WORK_MEM in the same message as a figures query (its search path
    before it, behind the pool): the query runs with it, in its school, and the next client of
    the same server connection does not inherit it."""
    from dashboards import figures

    a = _through_pool(pool, "attendance_site.pooled_backend", "pool_a")
    raw = _through_pool(pool, "django.db.backends.postgresql", "raw")
    try:
        a.set_schema("pool_a")
        monkeypatch.setattr(figures, "connection", a)
        cols, rows = figures._rows("SELECT current_setting('work_mem') AS mem, name "
                                   "FROM registers_registrationgroup WHERE name LIKE %(like)s",
                                   {"like": "only-in-%"})
        assert (cols, rows) == (["mem", "name"], [(figures.WORK_MEM, "only-in-A")])
        with raw.cursor() as cur:
            cur.execute("SELECT current_setting('work_mem'), pg_backend_pid()")
            mem, pid = cur.fetchone()
        assert pid == _backend_pid(a) and mem != figures.WORK_MEM
    finally:
        a.close()
        raw.close()


def test_control_django_tenants_own_backend_leaks_under_transaction_pooling(pool):
    """Why the pooled backend exists: the session-level SET search_path of django-tenants is
    left on the shared server connection, so school A's next read runs in school B's schema."""
    seen, _ = _interleave(pool, "django_tenants.postgresql_backend")
    assert ("A", ["only-in-B"]) in seen
