"""Least privilege in PostgreSQL (attendance_site/db_roles.py).

The suite's own connection is the app's role, so every other test also shows the app works
without owning anything. Here: what that role must not be able to do to the amendment trail,
what it still can do, and that schemas come out owned by the owner with the right grants.
"""

from datetime import date

import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from attendance_site.db_roles import app_role, as_owner, owner_role
from registers.models import MarkAmendment

DAY = date(2025, 9, 2)


def _one(sql, params=None):
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchone()[0]


@pytest.fixture
def trail(school_a, make_pupil):
    """One amendment in school A's trail, written by the app's role (INSERT is allowed)."""
    pupil = make_pupil()
    return MarkAmendment.objects.create(pupil=pupil, date=DAY, session="AM", original_code="N",
                                        new_code="I", reason="phoned", user_name="office",
                                        role="Office")


def test_the_suite_runs_as_a_role_that_is_not_superuser_and_owns_nothing(db):
    me = _one("SELECT current_user")
    assert me == settings.DATABASES["default"]["USER"] != settings.OWNER_DATABASE["USER"]
    assert _one("SELECT rolsuper OR rolcreatedb OR rolcreaterole OR rolbypassrls FROM pg_roles "
                "WHERE rolname = current_user") is False
    assert _one("SELECT pg_has_role(current_user, %s, 'MEMBER')", [settings.OWNER_DATABASE["USER"]]) is False
    owned = _one("""SELECT (SELECT count(*) FROM pg_class WHERE relowner = r.oid)
                         + (SELECT count(*) FROM pg_namespace WHERE nspowner = r.oid)
                         + (SELECT count(*) FROM pg_proc WHERE proowner = r.oid)
                         + (SELECT count(*) FROM pg_database WHERE datdba = r.oid)
                    FROM pg_roles r WHERE r.rolname = current_user""")
    assert owned == 0


@pytest.mark.parametrize("sql", [
    "ALTER TABLE registers_markamendment DISABLE TRIGGER amendment_no_update_delete",
    "ALTER TABLE registers_markamendment DISABLE TRIGGER ALL",
    "DROP TRIGGER amendment_no_update_delete ON registers_markamendment",
    "CREATE OR REPLACE FUNCTION registers_amendment_append_only() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
    "SET session_replication_role = replica",
    "UPDATE registers_markamendment SET reason = 'rewritten'",
    "DELETE FROM registers_markamendment",
    "TRUNCATE registers_markamendment",
    "ALTER TABLE registers_markamendment OWNER TO CURRENT_USER",
    "DROP TABLE registers_markamendment",
])
def test_the_app_cannot_rewrite_the_amendment_trail(trail, sql):
    """Refused by PostgreSQL's privileges (not only by the trigger): "must be owner",
    "permission denied"."""
    with pytest.raises(DatabaseError) as refused, transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql)
    assert refused.value.__cause__.sqlstate == "42501"  # insufficient_privilege
    assert "append-only" not in str(refused.value)      # the trigger was not even reached
    assert MarkAmendment.objects.get().reason == "phoned"
    assert _one("SHOW session_replication_role") == "origin"


@pytest.mark.parametrize("sql", ["UPDATE registers_pupilhistory SET new_value = 'rewritten'",
                                 "DELETE FROM registers_pupilhistory",
                                 "TRUNCATE registers_pupilhistory",
                                 "ALTER TABLE registers_pupilhistory DISABLE TRIGGER ALL"])
def test_the_app_cannot_rewrite_the_pupil_history(school_a, sql):
    """The pupil record's history is append-only for the app too (attendance_site.db_roles)."""
    with pytest.raises(DatabaseError) as refused, transaction.atomic(), connection.cursor() as cur:
        cur.execute(sql)
    assert refused.value.__cause__.sqlstate == "42501"  # insufficient_privilege
    assert _one("SELECT has_table_privilege('registers_pupilhistory', 'SELECT, INSERT')")


def test_the_app_reads_and_adds_to_the_trail_in_every_school(school_a, school_b, make_pupil):
    for school in (school_a, school_b):
        connection.set_tenant(school)
        assert _one("SELECT has_table_privilege('registers_markamendment', 'SELECT, INSERT')")
        assert not _one("SELECT has_table_privilege('registers_markamendment', "
                        "'UPDATE') OR has_table_privilege('registers_markamendment', 'DELETE') "
                        "OR has_table_privilege('registers_markamendment', 'TRUNCATE')")
        assert _one("SELECT has_table_privilege('registers_mark', 'SELECT, INSERT, UPDATE, DELETE')")
        assert not _one("SELECT has_table_privilege('registers_mark', 'TRUNCATE')")
        assert not _one("SELECT has_table_privilege('django_migrations', 'INSERT')")
        assert not _one("SELECT has_schema_privilege(current_schema(), 'CREATE')")
        assert _one("SELECT tableowner FROM pg_tables WHERE schemaname = %s AND tablename = "
                    "'registers_markamendment'", [school.schema_name]) == settings.OWNER_DATABASE["USER"]


def test_the_app_cannot_create_schemas_or_tables(school_a):
    for sql in ("CREATE SCHEMA intruder", "CREATE TABLE intruder (id int)",
                "CREATE TABLE public.intruder (id int)"):
        with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic(), \
                connection.cursor() as cur:
            cur.execute(sql)
    with connection.cursor() as cur:  # temporary tables (attendance_site/bulk_sql.py) are allowed
        cur.execute("CREATE TEMP TABLE scratch (id int) ON COMMIT DROP")


def test_the_trigger_still_stops_the_owner(db):
    """Second line of defence: even the owner's ordinary statements cannot rewrite the trail.
    (The owner's connection is a session of its own, rolled back here.)"""
    from django_tenants.utils import schema_context

    class Rollback(Exception):
        pass

    with as_owner(), schema_context("test_a"):
        assert _one("SELECT current_user") == settings.OWNER_DATABASE["USER"]
        with pytest.raises(Rollback), transaction.atomic():
            with connection.cursor() as cur:
                cur.execute("INSERT INTO registers_markamendment (pupil_id, date, session, "
                            "original_code, new_code, reason, user_name, role, at) VALUES "
                            "(1, '2025-09-02', 'AM', 'N', 'I', 'phoned', 'x', 'Office', now())")
            for sql in ("UPDATE registers_markamendment SET reason = 'rewritten'",
                        "DELETE FROM registers_markamendment", "TRUNCATE registers_markamendment"):
                with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), \
                        connection.cursor() as cur:
                    cur.execute(sql)
            raise Rollback
    assert _one("SELECT current_user") == settings.DATABASES["default"]["USER"]


@pytest.fixture
def superuser():
    """A superuser connection to the test server (local trust auth: `postgres`), if any."""
    psycopg = pytest.importorskip("psycopg")
    db = settings.DATABASES["default"]
    params = {"dbname": "postgres", "user": "postgres", "host": db["HOST"] or None,
              "port": db["PORT"] or None, **db.get("OPTIONS", {})}
    try:
        conn = psycopg.connect(autocommit=True, connect_timeout=3,
                               **{k: v for k, v in params.items() if v is not None})
    except psycopg.OperationalError:
        pytest.skip("no superuser `postgres` on the test server")
    if not conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()[0]:
        pytest.skip("`postgres` is not a superuser here")
    with conn:
        yield conn, params


def test_an_old_database_is_handed_over_to_the_owner(superuser):
    """What `make run` does to a database an older version built as `postgres`."""
    import psycopg

    from attendance_site import db_roles

    admin, params = superuser
    name, app, owner = f"{connection.settings_dict['NAME']}_old", app_role(), owner_role()
    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        def connect(dbname):
            return psycopg.connect(autocommit=True, **{k: v for k, v in {**params, "dbname": dbname}.items()
                                                       if v is not None})

        with connect(name) as old:
            old.execute("CREATE SCHEMA school; CREATE TABLE school.t (id bigint GENERATED ALWAYS AS "
                        "IDENTITY PRIMARY KEY); CREATE TABLE public.p (id serial PRIMARY KEY); "
                        "CREATE FUNCTION school.f() RETURNS int LANGUAGE sql AS 'SELECT 1'")
        assert db_roles.database_ensure(admin, name, app=app, owner=owner, connect=connect) is False
        with connect(name) as db:
            owners = db.execute("""
                SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()
                UNION SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'school'
                UNION SELECT pg_get_userbyid(relowner) FROM pg_class
                      WHERE relnamespace IN ('school'::regnamespace, 'public'::regnamespace)
                UNION SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE proname = 'f'""").fetchall()
            assert owners == [(owner,)]
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')


def test_roles_are_never_made_from_the_superuser_itself(superuser):
    from attendance_site import db_roles

    admin, _ = superuser
    with pytest.raises(ValueError, match="three different roles"):
        db_roles.roles_ensure(admin, app=app_role(), owner="postgres")


def test_a_superuser_database_url_needs_no_switch_to_the_owner(superuser, db):
    """The old single-role setup (DATABASE_URL of a superuser) still migrates as itself."""
    from django.db.utils import load_backend

    from attendance_site.db_roles import is_owner

    settings_dict = {**connection.settings_dict, "USER": "postgres", "PASSWORD": ""}
    old_setup = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, "default")
    try:
        assert is_owner(old_setup)
        assert not is_owner(connection)
    finally:
        old_setup.close()
