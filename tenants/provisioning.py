"""A new school's schema by cloning a migrated template schema (issue 18.1).

Running every migration for each new school takes seconds; copying the structure of a schema
that is already migrated takes a fraction of one. The template is the schema named by
``TENANT_BASE_SCHEMA`` (django-tenants' setting): no School row, no domain, no data but what the
migrations themselves write (``django_migrations``, content types). ``migrate_schemas`` keeps it
up to date: the owner's executor (attendance_site/db_roles.py) migrates it with every school.

django-tenants' own clone (a 2,000-line PL/pgSQL ``clone_schema``) took 0.45 to 6 s a school on
the 2-core machine, so the copy is made here instead, from the catalogue: the template's
definition is read once per migration state into a script of plain DDL (tables ``LIKE`` the
template's, then its constraints, indexes, functions and triggers under their own names), which
each clone runs as one statement batch as the owner, followed by the grants to the app's role.
A clone is identical in structure to a migrated schema; tests/tenants/test_provisioning.py
compares the two, grants included.

Ready schemas: the copy is about 0.5 to 1 s of PostgreSQL's time on 2 cores (catalogue rows
for some 410 relations, 250 of them empty B-trees; not the disk), so ``READY_SCHEMAS``
copies are made ahead of time (``ready_schemas_fill``, by a Celery worker after each one is
taken and every quarter of an hour). A new school takes one by renaming it, in a fraction
of a second, if it was copied from the template as migrated now; a stale one is never taken
and the next fill drops it. With none ready, the school is copied there and then.
"""

import logging
import re
import threading
import uuid

from django.conf import settings
from django.db import connection, transaction

from attendance_site.db_roles import as_owner, privileges_grant

_MARK = "__clone_target__"
READY_PREFIX = "_ready_"  # ready copies of the template; reserved (tenants.services.school_create)
_LOCKS = 18_001  # advisory lock class of ready schemas (pg_try_advisory_xact_lock(class, key))
_cache: dict = {}  # (template, migration state) -> clone script
_leaves: dict = {}
_verified: dict = {}  # template -> ((count, newest id) of its migration records, state) found current
_granted: set = set()  # databases whose database-wide grants this process has made
_lock = threading.Lock()


def template_schema() -> str:
    return getattr(settings, "TENANT_BASE_SCHEMA", "") or ""


def reserved(schema: str) -> bool:
    """Names no school's schema may have: public, the template and the ready copies'."""
    return schema in ("public", template_schema()) or schema.startswith(READY_PREFIX)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _schema_exists(cur, schema: str) -> bool:
    cur.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema])
    return cur.fetchone() is not None


def _leaf_migrations() -> frozenset:
    """The newest migration of every app, as on disk (read once per process, no database)."""
    if "leaves" not in _leaves:
        from django.db.migrations.loader import MigrationLoader

        loader = MigrationLoader(None, ignore_no_migrations=True)
        _leaves["leaves"] = frozenset(loader.graph.leaf_nodes())
    return _leaves["leaves"]


def _template_state(cur, template: str):
    """(count, newest id) of the template's migration records, or None if it is not current."""
    cur.execute(f"SELECT to_regclass('{_q(template)}.django_migrations')")
    if cur.fetchone()[0] is None:
        return None
    cur.execute(f"SELECT app, name FROM {_q(template)}.django_migrations")
    applied = set(cur.fetchall())
    if not _leaf_migrations() <= applied:
        return None
    return len(applied), max((a, n) for a, n in applied)


def template_ensure() -> None:
    """As the owner: the template schema exists (empty if new; the caller migrates it)."""
    template = template_schema()
    if not template:
        return
    with as_owner(), connection.cursor() as cur:
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {_q(template)}")


def template_migrate() -> None:
    """Create and migrate the template now (a first clone on a database that has none)."""
    from django.core.management import call_command

    template_ensure()
    call_command("migrate_schemas", schema_name=template_schema(), interactive=False, verbosity=0)


# Complexity: one branch per catalogue object kind copied from the template.
def _statements(cur, template: str) -> list[str]:  # noqa: C901
    """The DDL that rebuilds ``template`` as the schema named by _MARK (quoted)."""
    t = template
    cur.execute("SELECT set_config('search_path', %s, true)", [_q(t)])  # definitions read unqualified
    target = f'"{_MARK}"'
    # No wait for the disk at this commit: the caller's next ordinary commit (the school's
    # domain row) flushes the log up to and including it, so nothing is acknowledged unsaved.
    out = ["SET LOCAL synchronous_commit = off", f"CREATE SCHEMA {target}",
           f"SET LOCAL search_path = {target}"]

    def requalify(sql: str) -> str:
        return re.sub(rf'(?<![\w"])(?:{re.escape(_q(t))}|{re.escape(t)}\b)\.', f"{target}.", sql)

    cur.execute("""SELECT p.oid FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                   WHERE n.nspname = %s ORDER BY p.proname""", [t])
    for (oid,) in cur.fetchall():
        cur.execute("SELECT pg_get_functiondef(%s)", [oid])
        out.append(requalify(cur.fetchone()[0]))
    cur.execute("""SELECT c.relname, array_to_string(c.reloptions, ', ')
                   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = %s AND c.relkind = 'r' ORDER BY c.oid""", [t])
    options = dict(cur.fetchall())
    tables = list(options)
    # Each table with its keys and checks under their own names in one statement; the foreign
    # keys (which need the tables they point to) in one statement a table afterwards.
    cur.execute("""SELECT c.relname, k.contype = 'f', k.conname, pg_get_constraintdef(k.oid)
                   FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
                   JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = %s AND c.relkind = 'r' ORDER BY c.oid, k.oid""", [t])
    inline, foreign = {}, {}
    for table, is_fk, name, definition in cur.fetchall():
        (foreign if is_fk else inline).setdefault(table, []).append(
            f"CONSTRAINT {_q(name)} {definition}")
    for table in tables:
        parts = [f"LIKE {_q(t)}.{_q(table)} INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING GENERATED "
                 "INCLUDING STORAGE INCLUDING COMMENTS INCLUDING COMPRESSION", *inline.get(table, [])]
        storage = f" WITH ({options[table]})" if options[table] else ""
        out.append(f"CREATE TABLE {_q(table)} ({', '.join(parts)}){storage}")
    # LIKE makes every identity sequence bigint: older integer ones are put back as they were.
    cur.execute("""SELECT sequencename, data_type::text, min_value, max_value FROM pg_sequences
                   WHERE schemaname = %s AND data_type <> 'bigint'::regtype""", [t])
    for seq, data_type, low, high in cur.fetchall():
        out.append(f"ALTER SEQUENCE {_q(seq)} AS {data_type} MINVALUE {int(low)} MAXVALUE {int(high)}")
    for table in tables:
        if table in foreign:
            out.append(f"ALTER TABLE {_q(table)} " + ", ".join(f"ADD {c}" for c in foreign[table]))
    cur.execute("""SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
                   JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = %s
                     AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid
                                     AND k.contype IN ('p', 'u', 'x'))
                   ORDER BY i.indexrelid""", [t])
    out.extend(requalify(r[0]) for r in cur.fetchall())
    cur.execute("""SELECT pg_get_triggerdef(g.oid) FROM pg_trigger g
                   JOIN pg_class c ON c.oid = g.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = %s AND NOT g.tgisinternal ORDER BY g.oid""", [t])
    out.extend(requalify(r[0]) for r in cur.fetchall())
    # What the migrations wrote (their own records, content types): copied, sequences moved on.
    for table in tables:
        cur.execute(f"SELECT EXISTS (SELECT 1 FROM {_q(t)}.{_q(table)})")
        if cur.fetchone()[0]:
            out.append(f"INSERT INTO {_q(table)} SELECT * FROM {_q(t)}.{_q(table)}")
    cur.execute("""SELECT s.relname, q.last_value FROM pg_class s
                   JOIN pg_namespace n ON n.oid = s.relnamespace
                   JOIN pg_sequences q ON q.schemaname = n.nspname AND q.sequencename = s.relname
                   WHERE n.nspname = %s AND s.relkind = 'S' AND q.last_value IS NOT NULL""", [t])
    for seq, last in cur.fetchall():
        out.append(f"SELECT setval('{target}.{_q(seq)}', {int(last)}, true)")
    return out


def _script(cur, template: str) -> str:
    from attendance_site.db_roles import relations_of, schema_grant_statements, separate_roles

    statements = _statements(cur, template)
    if separate_roles():  # the app's grants in the same batch (privileges_grant's, statements)
        tables, sequences = relations_of(cur, [template]).get(template, (set(), set()))
        statements += schema_grant_statements(f'"{_MARK}"', tables, sequences)
    return ";\n".join(statements) + ";\n"


def _records(cur, schema: str) -> tuple:
    """(count, newest id) of a schema's migration records: a copy has the template's own."""
    cur.execute(f"SELECT count(*), max(id) FROM {_q(schema)}.django_migrations")
    return tuple(cur.fetchone())


def _state_now(cur, template: str):
    """``_template_state``, read in full only when the template's migration records changed
    since they were last found current (one small query a clone otherwise)."""
    cur.execute(f"SELECT to_regclass('{_q(template)}.django_migrations')")
    if cur.fetchone()[0] is None:
        return None
    quick = _records(cur, template)
    with _lock:
        known = _verified.get(template)
    if known is not None and known[0] == quick:
        return known[1]
    state = _template_state(cur, template)
    if state is not None:
        with _lock:
            _verified[template] = (quick, state)
    return state


def template_current() -> bool:
    template = template_schema()
    if not template:
        return False
    with as_owner(), connection.cursor() as cur:  # the app's role may not read the template
        return _schema_exists(cur, template) and _template_state(cur, template) is not None


def _database_grants() -> None:
    """The app's database-wide grants, once per process and database (privileges_grant's)."""
    from attendance_site.db_roles import database_grant_statements, separate_roles

    name = connection.settings_dict["NAME"]
    if not separate_roles() or name in _granted:
        return
    with connection.cursor() as cur:
        for sql in database_grant_statements():
            cur.execute(sql)
    _granted.add(name)


def schema_clone(schema: str) -> None:
    """As the owner: create ``schema`` as a copy of the template, with the app's grants, in one
    transaction and (the template being current) one statement batch.

    The template is migrated first if it is missing or behind the code's migrations.
    """
    template = template_schema()
    assert template, "TENANT_BASE_SCHEMA names no template schema"
    with as_owner():
        _database_grants()
        with transaction.atomic(), connection.cursor() as cur:
            state = _state_now(cur, template)
            if state is not None:
                if not _ready_take(cur, template, schema):
                    _clone_run(cur, template, state, schema)
                transaction.on_commit(_ready_refill_queue)  # one taken, or none (or stale) ready
                return
        template_migrate()
        with transaction.atomic(), connection.cursor() as cur:
            _clone_run(cur, template, _state_now(cur, template), schema)


def _clone_run(cur, template: str, state, schema: str) -> None:
    cur.execute("SHOW search_path")
    search_path = cur.fetchone()[0]
    key = (template, state)
    with _lock:
        script = _cache.get(key)
    if script is None:
        script = _script(cur, template)
        with _lock:
            _cache.clear() if len(_cache) > 8 else None
            _cache[key] = script
    cur.execute(script.replace(f'"{_MARK}"', _q(schema)))
    cur.execute("SELECT set_config('search_path', %s, true)", [search_path])  # as it was


# --- ready schemas ----------------------------------------------------------------------------

def ready_wanted() -> int:
    return max(0, getattr(settings, "READY_SCHEMAS", 0))


def _ready_names(cur) -> list[str]:
    cur.execute("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s) ORDER BY nspname",
                [READY_PREFIX])
    return [r[0] for r in cur.fetchall()]


def _ready_claim(cur, name: str) -> bool:
    """This transaction alone may take or drop ``name``, which still exists."""
    cur.execute("SELECT pg_try_advisory_xact_lock(%s, hashtext(%s))", [_LOCKS, name])
    return cur.fetchone()[0] and _schema_exists(cur, name)


def _ready_take(cur, template: str, schema: str) -> bool:
    """Rename a ready copy of the template as migrated now to ``schema`` (inside the caller's
    transaction); False if there is none. Two sessions never take the same one."""
    current = _records(cur, template)
    for name in _ready_names(cur):
        if _ready_claim(cur, name) and _records(cur, name) == current:
            cur.execute(f"ALTER SCHEMA {_q(name)} RENAME TO {_q(schema)}")
            # The grants as the code says now (a release may change them without a migration).
            privileges_grant([schema])
            return True
    return False


def _ready_refill_queue() -> None:
    if not ready_wanted():
        return
    try:
        from .tasks import ready_schemas_fill

        ready_schemas_fill.delay()
    except Exception:  # the beat fills the pool later: never fail a new school for it
        logging.getLogger(__name__).warning("ready schemas refill not queued", exc_info=True)


def ready_fill(wanted: int | None = None) -> dict:
    """As the owner: drop ready schemas copied from an older template, then copy the template
    until ``wanted`` (READY_SCHEMAS) are ready, each in its own transaction so it can be taken
    at once. One fill at a time on a database; a second returns at once."""
    template = template_schema()
    wanted = ready_wanted() if wanted is None else wanted
    out = {"dropped": 0, "made": 0, "ready": 0}
    if not template:
        return out
    with as_owner(), connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s, 0)", [_LOCKS])
        if not cur.fetchone()[0]:
            return out
        try:
            _ready_fill(cur, template, wanted, out)
        finally:
            cur.execute("SELECT pg_advisory_unlock(%s, 0)", [_LOCKS])
    return out


def _ready_fill(cur, template: str, wanted: int, out: dict) -> None:
    _database_grants()
    for name in _ready_names(cur):
        with transaction.atomic():
            state = _state_now(cur, template)
            if state is None or not _ready_claim(cur, name):
                continue
            if _records(cur, name) == _records(cur, template) and out["ready"] < wanted:
                out["ready"] += 1
            else:
                cur.execute(f"DROP SCHEMA {_q(name)} CASCADE")
                out["dropped"] += 1
    while out["ready"] < wanted:
        with transaction.atomic():
            state = _state_now(cur, template)
            if state is None:  # the template is not migrated: nothing to copy yet
                return
            _clone_run(cur, template, state, f"{READY_PREFIX}{uuid.uuid4().hex[:16]}")
        out["made"] += 1
        out["ready"] += 1
