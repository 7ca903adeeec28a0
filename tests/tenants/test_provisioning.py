"""Issue 18.1: a new school is a copy of the migrated template schema, identical in structure
to a migrated one, made in a fraction of a second; ``create_schools`` takes a trust's or LA's
list whole or not at all, reporting problems by line and field.

The template (settings.TENANT_BASE_SCHEMA) is itself a school schema built by running every
migration (migrate_schemas keeps it current), so comparing a clone with it compares a cloned
school with a migrated one.
"""

import time

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection

from attendance_site.db_roles import app_role, as_owner, privileges_grant, privileges_revoke
from tenants import provisioning
from tenants.models import Domain, School

TEMPLATE = settings.TENANT_BASE_SCHEMA


def _rows(sql, schema):
    with connection.cursor() as cur:
        cur.execute(sql, {"s": schema, "app": app_role()})
        return sorted(tuple(str(v).replace(f"{schema}.", "S.").replace(f'"{schema}".', "S.")
                            for v in row) for row in cur.fetchall())


def structure(schema: str) -> dict:
    """Everything of a schema's structure that a migration makes, its name taken out (read by
    the owner: the app's role may not read the template)."""
    with as_owner():
        return _structure(schema)


def _structure(schema: str) -> dict:
    return {
        "columns": _rows("""
            SELECT c.relname, c.relkind, row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum),
                   a.attname, format_type(a.atttypid, a.atttypmod),
                   a.attnotnull, a.attidentity, a.attgenerated, pg_get_expr(d.adbin, d.adrelid),
                   a.attcollation::regcollation
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
            WHERE n.nspname = %(s)s""", schema),
        "relations": _rows("""
            SELECT c.relname, c.relkind, pg_get_userbyid(c.relowner), c.relpersistence,
                   coalesce(c.reloptions::text, ''),
                   has_table_privilege(%(app)s, c.oid, 'SELECT'),
                   has_table_privilege(%(app)s, c.oid, 'INSERT'),
                   has_table_privilege(%(app)s, c.oid, 'UPDATE'),
                   has_table_privilege(%(app)s, c.oid, 'DELETE'),
                   has_table_privilege(%(app)s, c.oid, 'TRUNCATE'),
                   CASE WHEN c.relkind = 'S' THEN has_sequence_privilege(%(app)s, c.oid, 'USAGE') END
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = %(s)s""", schema),
        "indexes": _rows("""
            SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i
            JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = %(s)s""", schema),
        "constraints": _rows("""
            SELECT t.relname, k.conname, k.contype, k.condeferrable, k.condeferred,
                   pg_get_constraintdef(k.oid)
            FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid
            JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = %(s)s""", schema),
        "sequences": _rows("""
            SELECT sequencename, data_type, start_value, min_value, max_value, increment_by,
                   cycle, cache_size, pg_get_userbyid(c.relowner),
                   (SELECT a.attrelid::regclass::text || '.' || a.attname FROM pg_depend d
                    JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
                    WHERE d.objid = c.oid AND d.deptype IN ('a', 'i'))
            FROM pg_sequences q JOIN pg_namespace n ON n.nspname = q.schemaname
            JOIN pg_class c ON c.relname = q.sequencename AND c.relnamespace = n.oid
            WHERE q.schemaname = %(s)s""", schema),
        "triggers": _rows("""
            SELECT t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t
            JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = %(s)s AND NOT t.tgisinternal""", schema),
        "functions": _rows("""
            SELECT p.proname, pg_get_functiondef(p.oid), pg_get_userbyid(p.proowner),
                   has_function_privilege(%(app)s, p.oid, 'EXECUTE')
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = %(s)s""",
                           schema),
        "schema": _rows("""
            SELECT pg_get_userbyid(nspowner), has_schema_privilege(%(app)s, oid, 'USAGE'),
                   has_schema_privilege(%(app)s, oid, 'CREATE')
            FROM pg_namespace WHERE nspname = %(s)s""", schema),
        "migrations": _rows("SELECT app, name FROM " + connection.ops.quote_name(schema)
                            + ".django_migrations", schema) if schema else [],
    }


@pytest.fixture
def committed(django_db_blocker):
    """Schemas a test clones (the owner's session commits them): dropped after the test's own
    transaction has been rolled back. Request it before ``db``."""
    made = []
    yield made
    with django_db_blocker.unblock(), as_owner(), connection.cursor() as cur:
        for schema in made:
            cur.execute(f"DROP SCHEMA IF EXISTS {connection.ops.quote_name(schema)} CASCADE")


@pytest.fixture
def autocommit(django_db_setup, django_db_blocker):
    """No test transaction around the test: its own transactions are the outermost ones."""
    with django_db_blocker.unblock():
        yield


def test_a_cloned_school_is_identical_in_structure_to_a_migrated_one(committed, db):
    committed.append("clone_x")
    started = time.perf_counter()
    provisioning.schema_clone("clone_x")
    assert time.perf_counter() - started < 5  # ≤ 0.5 s on a quiet machine; generous for CI
    cloned = structure("clone_x")
    # The app's role may not touch the template (what new schools copy); to compare grants,
    # the template is given a school's grants for the comparison and locked again after.
    assert not any(r[5:10] != ("False",) * 5 for r in structure(TEMPLATE)["relations"])
    assert structure(TEMPLATE)["schema"] == [(settings.OWNER_DATABASE["USER"], "False", "False")]
    try:
        with as_owner():
            privileges_grant([TEMPLATE])
        migrated = structure(TEMPLATE)
    finally:
        with as_owner():
            privileges_revoke(TEMPLATE)
    assert len(migrated["relations"]) > 100 and len(migrated["triggers"]) >= 7
    assert len(migrated["migrations"]) > 50
    for part in migrated:
        assert cloned[part] == migrated[part], part
    # The append-only trail stays append-only for the app in a clone (domain.md 9).
    rel = {r[0]: r for r in cloned["relations"]}
    assert rel["registers_markamendment"][5:10] == ("True", "True", "False", "False", "False")


def test_the_suite_s_schools_are_clones_and_a_stale_template_is_migrated_first(db):
    # test_a/test_b were created by school_create in conftest: same structure as the template.
    assert structure("test_a")["constraints"] == structure(TEMPLATE)["constraints"]
    assert provisioning.template_current()


def test_create_schools_makes_every_school_of_a_list(committed, db, tmp_path):
    committed.extend(["oak_one", "oak_two"])
    f = tmp_path / "oak.csv"
    f.write_text("schema,name,domain,preset,trust,trust_name,la_code,estab,urn\n"
                 "oak_one,Oak One Primary,oak-one.localhost,lap,oak-trust,Oak Trust,878,2001,100001\n"
                 "oak_two,Oak Two Primary,oak-two.localhost,,oak-trust,,,,\n")
    call_command("create_schools", str(f))
    one, two = School.objects.get(schema_name="oak_one"), School.objects.get(schema_name="oak_two")
    assert (one.trust.slug, one.trust.name, one.la_code, one.estab, one.urn, one.preset) == (
        "oak-trust", "Oak Trust", 878, "2001", "100001", "lap")
    assert two.trust == one.trust and Domain.objects.get(domain="oak-two.localhost").tenant == two
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM oak_one.escalation_band")  # the preset's bands
        assert cur.fetchone()[0] == 4
        cur.execute("SELECT count(*) FROM oak_two.escalation_band")
        assert cur.fetchone()[0] == 0


def test_create_schools_reports_every_problem_by_line_and_field_and_creates_nothing(
        committed, db, tmp_path, capsys):
    committed.extend(["elm_one", "elm_two"])
    f = tmp_path / "elm.csv"
    f.write_text("schema,name,domain,preset,trust,la_code\n"
                 "elm_one,Elm One,elm-one.localhost,lap,elm-trust,878\n"
                 "Elm Two,,a.localhost,nope,Elm Trust,87\n"
                 "elm_one,Elm Again,elm-one.localhost,,,\n"
                 f"{TEMPLATE},T,t.localhost,,,\n")
    with pytest.raises(CommandError, match="nothing created: 9 problem"):
        call_command("create_schools", str(f))
    err = [e.split(": ", 1)[1] for e in capsys.readouterr().err.splitlines()]
    assert err == [
        "line 3, schema: lower-case letters, digits and _ only, starting with a letter (at most 63)",
        "line 3, name: required",
        "line 3, domain: 'a.localhost' is already a school's address",
        "line 3, preset: unknown preset 'nope': choose from bankslane, beecroft, cheetwood, lap, stlukes",
        "line 3, trust: a short name of lower-case letters, digits and hyphens (e.g. oak-trust)",
        "line 3, la_code: the LA's three-digit number (e.g. 383)",
        "line 4, schema: 'elm_one' is also on line 2",
        "line 4, domain: 'elm-one.localhost' is also on line 2",
        f"line 5, schema: '{TEMPLATE}' is reserved",
    ]
    assert not School.objects.filter(schema_name__startswith="elm").exists()
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'elm%%'")
        assert cur.fetchone()[0] == 0


def test_create_schools_rejects_a_header_it_does_not_know(db, tmp_path, capsys):
    f = tmp_path / "x.csv"
    f.write_text("schema,name,colour\nx,X,red\n")
    with pytest.raises(CommandError, match="nothing created: 2 problem"):
        call_command("create_schools", str(f))
    assert capsys.readouterr().err.splitlines() == [
        f"{f}: line 1, header: missing column 'domain'",
        f"{f}: line 1, header: unknown column 'colour' (known: schema, name, domain, preset, trust, "
        "trust_name, urn, la_code, estab, headteacher, email, phone)"]


def test_create_schools_half_way_failure_drops_the_schemas_already_cloned(
        committed, autocommit, monkeypatch):
    """Outside a test transaction, as the command runs: the list's own transaction is the
    outermost one, so rolling it back lets the owner drop what was cloned."""
    from tenants import services
    from tenants.school_list import school_list_read

    committed.extend(["ash_one", "ash_two"])
    real, calls = services.preset_apply, []

    def second_fails(preset):
        calls.append(preset)
        if len(calls) == 2:
            raise RuntimeError("the second school fails after both were cloned")
        real(preset)

    monkeypatch.setattr(services, "preset_apply", second_fails)
    if True:
        rows = school_list_read("schema,name,domain,preset\nash_one,Ash One,ash-one.localhost,lap\n"
                                "ash_two,Ash Two,ash-two.localhost,lap\n")
        with pytest.raises(RuntimeError):
            services.schools_create(rows)
        assert len(calls) == 2
        assert not School.objects.filter(schema_name__startswith="ash").exists()
        with connection.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'ash%%'")
            assert cur.fetchone()[0] == 0


def test_create_school_command_is_unchanged_and_clones(committed, db):
    committed.append("birch")
    call_command("create_school", "--schema", "birch", "--name", "Birch", "--domain", "birch.localhost",
                 "--preset", "stlukes")
    assert structure("birch")["indexes"] == structure(TEMPLATE)["indexes"]


def test_a_school_schema_refers_to_no_other_school(db):
    """Issue 18.7 (one schema a shard, docs/scaling.md): a school's foreign keys point into its
    own schema or the shared public schema only, and every sequence it uses is its own."""
    with connection.cursor() as cur:
        cur.execute("""SELECT DISTINCT rn.nspname FROM pg_constraint k
                       JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                       JOIN pg_class r ON r.oid = k.confrelid JOIN pg_namespace rn ON rn.oid = r.relnamespace
                       WHERE n.nspname = 'test_a' AND k.contype = 'f'""")
        assert {r[0] for r in cur.fetchall()} == {"test_a", "public"}
        cur.execute("""SELECT DISTINCT substring(pg_get_expr(d.adbin, d.adrelid) from 'nextval')
                       FROM pg_attrdef d JOIN pg_class c ON c.oid = d.adrelid
                       JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'test_a'""")
        assert [r[0] for r in cur.fetchall()] in ([], [None])  # identity columns, no shared nextval
        cur.execute("""SELECT count(*) FROM pg_depend d JOIN pg_class s ON s.oid = d.objid
                       JOIN pg_class t ON t.oid = d.refobjid
                       WHERE s.relkind = 'S' AND s.relnamespace <> t.relnamespace""")
        assert cur.fetchone()[0] == 0
