"""Two PostgreSQL roles: the app's (DATABASE_URL) and the owner's (OWNER_DATABASE_URL).

The web app, Celery workers and ordinary commands connect as the app's role. It is not a
superuser and owns nothing: it may SELECT/INSERT/UPDATE/DELETE, but only SELECT and INSERT on
the append-only tables. Only an owner can ALTER TABLE ... DISABLE TRIGGER, DROP TRIGGER or
TRUNCATE, and only a superuser can SET session_replication_role (which silences triggers), so
nothing that runs as the app (a bug, an injected statement) can rewrite the amendment trail.

The owner's role owns the database and every schema in it. Only schema work runs as the
owner: ``migrate_schemas`` (through ``get_executor``, set as django-tenants'
GET_EXECUTOR_FUNCTION), creating and dropping a school's schema (``School.create_schema`` and
``_drop_schema``), ``seed_demo`` and ``flush``. After every migration run the owner grants the
app's role what it needs in the migrated schemas (``privileges_grant``); ``ALTER DEFAULT
PRIVILEGES`` covers tables a later migration creates.

``roles_ensure``/``database_ensure`` create the roles and the database with a superuser's
connection (plain psycopg, no Django): `make run`/`make test` (scripts/services.py) and the
test suite use them on local trust-auth servers.
"""

import copy
import threading
from contextlib import contextmanager

APP_ROLE, OWNER_ROLE = "attendance_app", "attendance_owner"

# Tables the app may only read and add to: no UPDATE, DELETE or TRUNCATE (docs/domain.md 9).
APPEND_ONLY_TABLES = ("registers_markamendment", "registers_pupilhistory", "registers_rollremoval",
                      "recognition_prizedraw", "registers_providerreport")
# Tables only the owner writes.
READ_ONLY_TABLES = ("django_migrations",)


# --------------------------------------------------------------------------- Django side


def app_role() -> str:
    from django.conf import settings

    return settings.DATABASES["default"]["USER"]


def owner_role() -> str:
    from django.conf import settings

    return settings.OWNER_DATABASE["USER"]


def separate_roles() -> bool:
    """False when DATABASE_URL and OWNER_DATABASE_URL name the same role (nothing to switch)."""
    return bool(owner_role()) and bool(app_role()) and owner_role() != app_role()


def owner_connection(current):
    """A new connection like ``current`` (same database name: the test database under pytest)
    but with the owner's credentials, server and options."""
    from django.conf import settings
    from django.db.utils import load_backend

    owner = settings.OWNER_DATABASE
    settings_dict = copy.deepcopy(current.settings_dict)
    for key in ("USER", "PASSWORD", "HOST", "PORT"):
        settings_dict[key] = owner.get(key, "")
    settings_dict["OPTIONS"] = {**settings_dict.get("OPTIONS", {}), **owner.get("OPTIONS", {})}
    settings_dict["CONN_MAX_AGE"] = 0
    wrapper = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, current.alias)
    wrapper.is_owner_connection = True
    return wrapper


def is_owner(connection) -> bool:
    """True for the owner's connection, and for a superuser's: a DATABASE_URL naming a
    superuser (the old single-role setup, no longer least privilege) can do it all itself."""
    if getattr(connection, "is_owner_connection", False) or not separate_roles():
        return True
    if not hasattr(connection, "is_superuser_connection"):
        with connection.cursor() as cur:
            cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            connection.is_superuser_connection = cur.fetchone()[0]
    return connection.is_superuser_connection


_kept = threading.local()  # owner_kept(): the owner's connection kept open for a batch


@contextmanager
def owner_kept():
    """Within the block, as_owner() reuses one owner's connection (this thread) instead of
    opening and closing one each time: a list of schools, each cloned as the owner."""
    if getattr(_kept, "active", False):
        yield
        return
    _kept.active, _kept.connection = True, None
    try:
        yield
    finally:
        kept, _kept.active, _kept.connection = _kept.connection, False, None
        if kept is not None:
            kept.close()


@contextmanager
def as_owner(alias: str = "default"):
    """Run the block with ``connections[alias]`` (this thread only) connected as the owner.

    The owner's connection is a separate session: its work commits on its own, whatever
    transaction is open on the app's connection, which is restored afterwards. Re-entrant.
    """
    from django.db import connections

    current = connections[alias]
    if is_owner(current):
        yield current
        return
    keep = getattr(_kept, "active", False) and alias == "default"
    owner = (_kept.connection if keep else None) or owner_connection(current)
    if keep:
        _kept.connection = owner
    connections[alias] = owner
    try:
        yield owner
    finally:
        if not keep:
            owner.close()
        connections[alias] = current


def privileges_grant(schemas: list[str]) -> None:
    """As the owner: give the app's role what it needs in ``schemas`` and no more."""
    from django.db import connection

    if not separate_roles():
        return
    assert is_owner(connection), "privileges_grant must run as the owner (as_owner())"
    with connection.cursor() as cur:
        for sql in database_grant_statements():
            cur.execute(sql)
        found = relations_of(cur, list(schemas))
        for schema in dict.fromkeys(schemas):  # a schema's statements in one round trip
            tables, sequences = found.get(schema, (set(), set()))
            cur.execute(";\n".join(schema_grant_statements(
                connection.ops.quote_name(schema), tables, sequences)))


def relations_of(cur, schemas: list[str]) -> dict[str, tuple[set, set]]:
    """Each schema's (tables, sequences), in one scan of the catalogue."""
    cur.execute("SELECT n.nspname, c.relname, c.relkind = 'S' FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')",
                [schemas])
    out: dict[str, tuple[set, set]] = {}
    for schema, name, is_sequence in cur.fetchall():
        out.setdefault(schema, (set(), set()))[1 if is_sequence else 0].add(name)
    return out


def database_grant_statements() -> list[str]:
    """The app's grants on the database as a whole (and on what the owner creates later)."""
    from django.db import connection

    q = connection.ops.quote_name
    app = q(app_role())
    return [f"GRANT CONNECT, TEMPORARY ON DATABASE {q(connection.settings_dict['NAME'])} TO {app}",
            f"ALTER DEFAULT PRIVILEGES GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}",
            f"ALTER DEFAULT PRIVILEGES GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {app}"]


def schema_grant_statements(schema_sql: str, tables, sequences) -> list[str]:
    """The app's grants in one schema (``schema_sql``, quoted) whose tables and sequences are
    ``tables`` and ``sequences``: what privileges_grant runs there, as statements (a clone
    runs them in its own batch). Each relation is named: ``GRANT ... ON ALL TABLES IN SCHEMA``
    reads the whole of pg_class (it has no index by schema), so with thousands of schools
    each school's grants cost a scan of every school's relations."""
    from django.db import connection

    q = connection.ops.quote_name
    app, s = q(app_role()), schema_sql
    out = [f"GRANT USAGE ON SCHEMA {s} TO {app}"]
    if tables:
        out.append(f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "
                   f"{', '.join(f'{s}.{q(t)}' for t in sorted(tables))} TO {app}")
    if sequences:
        out.append(f"GRANT USAGE, SELECT, UPDATE ON SEQUENCE "
                   f"{', '.join(f'{s}.{q(n)}' for n in sorted(sequences))} TO {app}")
    for limited, allowed in ((APPEND_ONLY_TABLES, "SELECT, INSERT"), (READ_ONLY_TABLES, "SELECT")):
        for table in limited:
            if table in tables:
                out += [f"REVOKE ALL ON {s}.{q(table)} FROM {app}",
                        f"GRANT {allowed} ON {s}.{q(table)} TO {app}"]
    return out


def privileges_revoke(schema: str) -> None:
    """As the owner: the app's role may not use ``schema`` at all (the template schema)."""
    from django.db import connection

    if not separate_roles():
        return
    q = connection.ops.quote_name
    app, s = q(app_role()), q(schema)
    with connection.cursor() as cur:
        cur.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {app}")
        cur.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {s} FROM {app}")
        cur.execute(f"REVOKE ALL ON SCHEMA {s} FROM {app}")


def schemas_behind(schemas: list[str], batch: int = 500) -> list[str]:
    """Those of ``schemas`` that lack a record of some migration on disk (or the table of
    records), in order: the others have nothing to apply. One query a ``batch`` of schemas,
    where ``migrate`` would take about 0.3 s a school to find nothing to do (it renders every
    model's state for its post_migrate signal)."""
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    nodes = sorted(f"{app}.{name}" for app, name in MigrationLoader(None).graph.nodes)
    q = connection.ops.quote_name
    with connection.cursor() as cur:
        cur.execute("SELECT c.relnamespace::regnamespace::text FROM pg_class c WHERE c.relname = "
                    "'django_migrations' AND c.relkind = 'r' AND "
                    "c.relnamespace::regnamespace::text = ANY(%s)", [schemas])
        have_table = {r[0] for r in cur.fetchall()}
        current = set()
        listed = [s for s in schemas if s in have_table]
        for start in range(0, len(listed), batch):
            sql = " UNION ALL ".join(
                f"SELECT %s, count(*) FROM {q(s)}.django_migrations "
                f"WHERE app || '.' || name = ANY(%s)" for s in listed[start:start + batch])
            params = [v for s in listed[start:start + batch] for v in (s, nodes)]
            cur.execute(sql, params)
            current |= {s for s, n in cur.fetchall() if n == len(nodes)}
    return [s for s in schemas if s not in current]


@contextmanager
def _migration_table_looked_up_by_name():
    """While migrating: Django's ``MigrationRecorder.has_table`` finds a schema's
    django_migrations by one index lookup (``to_regclass``), not by listing every table the
    connection can see. That list is a scan of pg_class, which holds every school's relations:
    four scans a school in a release (0.3-0.6 s each with 1,000 schools, measured), so a
    release's time grew with the square of the number of schools. The executors' worker
    processes are forked from this one, so they inherit it."""
    from django.db.migrations.recorder import MigrationRecorder

    original = MigrationRecorder.has_table

    def has_table(recorder) -> bool:
        if not recorder._has_table:
            conn = recorder.connection
            q = conn.ops.quote_name
            with conn.cursor() as cur:
                cur.execute("SELECT to_regclass(%s) IS NOT NULL",
                            [f"{q(conn.schema_name)}.{q(recorder.Migration._meta.db_table)}"])
                recorder._has_table = cur.fetchone()[0]
        return recorder._has_table

    MigrationRecorder.has_table = has_table
    try:
        yield
    finally:
        MigrationRecorder.has_table = original


class _AsOwner:
    """Mixin for django-tenants' migration executors: migrate as the owner, then grant.

    A plain run (no app or migration named) skips the schemas that have every migration on
    disk already (``schemas_behind``); the grants are still made in every schema."""

    def run_migrations(self, tenants=None):
        from django.conf import settings

        schemas = list(tenants or [])
        template = getattr(settings, "TENANT_BASE_SCHEMA", "")
        # A run over every school also migrates the template new schools are cloned from
        # (tenants/provisioning.py), first, so that a school created meanwhile is current.
        every_school = not self.options.get("schema_name") and schemas != [self.PUBLIC_SCHEMA_NAME]
        with as_owner() as owner:
            if template and every_school and template not in schemas:
                with owner.cursor() as cur:
                    cur.execute(f"CREATE SCHEMA IF NOT EXISTS {owner.ops.quote_name(template)}")
                schemas.insert(0, template)
            behind = schemas if self._targeted(schemas) else schemas_behind(schemas)
            if len(behind) < len(schemas) and int(self.options.get("verbosity", 1)) >= 1:
                print(f"{len(schemas) - len(behind)} schema(s) already have every migration: "
                      "skipped", flush=True)
            if behind:
                with _migration_table_looked_up_by_name():
                    super().run_migrations(tenants=list(behind))  # the executors pop from it
            privileges_grant([s for s in schemas if s != template])
            if template in schemas:
                privileges_revoke(template)  # only the owner reads what new schools copy

    def _targeted(self, schemas: list[str]) -> bool:
        """A run to a named app or migration (perhaps backwards), of the public schema, or one
        that does more than apply migrations (prune records, sync apps without migrations)."""
        o = self.options
        return (bool(self.args or o.get("app_label") or o.get("migration_name") or o.get("prune")
                     or o.get("run_syncdb")) or schemas == [self.PUBLIC_SCHEMA_NAME])


def get_executor(codename=None):
    """GET_EXECUTOR_FUNCTION: django-tenants' executor for ``codename``, run as the owner."""
    from django_tenants.migration_executors import get_executor as tenants_get_executor

    base = tenants_get_executor(codename)
    return type(f"Owner{base.__name__}", (_AsOwner, base), {})


# --------------------------------------------------------------------------- bootstrap (psycopg)

# Everything in the database's own schemas, handed to the owner (a database made before the
# two roles existed, e.g. by an older `make run` as postgres).
_TAKE_OVER = """
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT nspname FROM pg_namespace
           WHERE nspname !~ '^pg_' AND nspname <> 'information_schema'
             AND nspowner NOT IN ('{owner}'::regrole, 'pg_database_owner'::regrole) LOOP
    EXECUTE format('ALTER SCHEMA %I OWNER TO {owner}', r.nspname);
  END LOOP;
  FOR r IN SELECT c.oid::regclass AS rel FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
             AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND c.relowner <> '{owner}'::regrole
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid
                             AND d.classid = 'pg_class'::regclass AND d.deptype IN ('a', 'i', 'e')) LOOP
    EXECUTE format('ALTER TABLE %s OWNER TO {owner}', r.rel);
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS fn FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
           WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
             AND p.prokind = 'f' AND p.proowner <> '{owner}'::regrole
             AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid
                             AND d.classid = 'pg_proc'::regclass AND d.deptype = 'e') LOOP
    EXECUTE format('ALTER FUNCTION %s OWNER TO {owner}', r.fn);
  END LOOP;
END $$;
"""


def roles_ensure(admin, *, app: str = APP_ROLE, owner: str = OWNER_ROLE,
                 app_password: str | None = None, owner_password: str | None = None) -> None:
    """Create (or correct) the two login roles; ``admin`` is a psycopg connection of a superuser
    in autocommit mode. Passwords are set only when given."""
    from psycopg import sql

    me = admin.execute("SELECT current_user").fetchone()[0]
    if me in (app, owner) or app == owner:
        raise ValueError(f"the app's role ({app}), the owner ({owner}) and the superuser creating "
                         f"them ({me}) must be three different roles")
    for role, attrs, password in (
            (owner, "LOGIN NOSUPERUSER CREATEDB NOCREATEROLE NOBYPASSRLS", owner_password),
            (app, "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS", app_password)):
        exists = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
        verb = "ALTER" if exists else "CREATE"
        admin.execute(sql.SQL(f"{verb} ROLE {{}} {attrs}").format(sql.Identifier(role)))
        if password:
            admin.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(role),
                                                                     sql.Literal(password)))
    # The app's role must not be able to become the owner.
    admin.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(owner), sql.Identifier(app)))


def database_ensure(admin, dbname: str, *, app: str = APP_ROLE, owner: str = OWNER_ROLE,
                    connect=None) -> bool:
    """Create ``dbname`` owned by ``owner`` (or hand an existing one over to it); let ``app``
    connect and use temporary tables. ``connect(dbname)`` opens a superuser autocommit
    connection to that database (for the hand-over). True if the database was created."""
    from psycopg import sql

    row = admin.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s",
                        [dbname]).fetchone()
    ident = sql.Identifier(dbname)
    if row is None:
        admin.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(ident, sql.Identifier(owner)))
    elif row[0] != owner:
        admin.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(ident, sql.Identifier(owner)))
        if connect is not None:
            with connect(dbname) as conn:
                conn.execute(_TAKE_OVER.replace("{owner}", sql.Identifier(owner).as_string(conn)))
    admin.execute(sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(
        ident, sql.Identifier(app)))
    return row is None
