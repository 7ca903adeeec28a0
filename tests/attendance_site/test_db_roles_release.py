"""Issue 18.2: a release over thousands of schools. ``migrate_schemas`` (the owner's executor,
attendance_site/db_roles.py) skips the schools that already have every migration on disk,
found in one query a batch, where Django's ``migrate`` took ~0.3 s a school to find nothing to
do; every school still gets the app's grants."""

import pytest
from django.conf import settings
from django.db import connection
from django_tenants.migration_executors.standard import StandardExecutor

from attendance_site.db_roles import as_owner, get_executor, schemas_behind
from tenants import provisioning

TEMPLATE = settings.TENANT_BASE_SCHEMA


@pytest.fixture
def behind(django_db_blocker):
    """A school schema missing its newest migration record, and one with no records at all."""
    with django_db_blocker.unblock():
        provisioning.schema_clone("rel_behind")
        with as_owner(), connection.cursor() as cur:
            cur.execute("DELETE FROM rel_behind.django_migrations WHERE id = "
                        "(SELECT max(id) FROM rel_behind.django_migrations)")
            cur.execute("CREATE SCHEMA rel_empty")
    yield "rel_behind", "rel_empty"
    with django_db_blocker.unblock(), as_owner(), connection.cursor() as cur:
        cur.execute("DROP SCHEMA rel_behind CASCADE; DROP SCHEMA rel_empty CASCADE")


def test_only_schemas_missing_a_migration_are_behind(behind, db):
    with as_owner():
        assert schemas_behind(["test_a", "rel_behind", TEMPLATE, "rel_empty", "test_b"]) == [
            "rel_behind", "rel_empty"]
        assert schemas_behind(["test_a", "test_b"], batch=1) == []  # one query a batch


@pytest.fixture
def passed_on(monkeypatch):
    """The schemas the executor hands to django-tenants' own (which runs ``migrate`` in each)."""
    seen = []
    monkeypatch.setattr(StandardExecutor, "run_migrations",
                        lambda self, tenants=None: seen.append(list(tenants)))
    return seen


def test_a_release_migrates_only_the_schools_behind_and_grants_in_all(
        behind, passed_on, db, capsys):
    executor = get_executor("standard")((), {"verbosity": 1})
    with as_owner(), connection.cursor() as cur:  # the app loses a grant in a current school
        cur.execute("REVOKE SELECT ON test_a.registers_pupil FROM attendance_app")
    executor.run_migrations(tenants=["test_a", "rel_behind", "test_b"])
    assert passed_on == [["rel_behind"]]  # the template and test_a/test_b have every migration
    assert "3 schema(s) already have every migration: skipped" in capsys.readouterr().out
    with connection.cursor() as cur:  # the grants were made in every school all the same
        cur.execute("SELECT has_table_privilege('attendance_app', 'test_a.registers_pupil', "
                    "'SELECT'), has_table_privilege('attendance_app', "
                    "'test_a.registers_markamendment', 'UPDATE')")
        assert cur.fetchone() == (True, False)


@pytest.mark.parametrize("args, options", [
    (("registers", "0001_initial"), {}),  # to a named migration, perhaps backwards
    ((), {"app_label": "registers"}),
    ((), {"prune": True}),  # deletes records of migrations no longer on disk
])
def test_a_targeted_run_goes_to_every_schema(passed_on, db, args, options):
    executor = get_executor("standard")(args, {"verbosity": 0, **options})
    with as_owner():
        executor.run_migrations(tenants=["test_a", "test_b"])
    assert passed_on == [[TEMPLATE, "test_a", "test_b"]]


def test_a_release_finds_each_schools_records_by_name_not_by_listing_every_table(
        behind, db, monkeypatch):
    """Django's MigrationRecorder lists every table the connection can see to find
    django_migrations: a scan of pg_class, which holds every school's relations (0.3-0.6 s a
    scan with 1,000 schools, four a school). The release looks it up by name instead."""
    from django.core.management import load_command_class
    from django.db.backends.base.introspection import BaseDatabaseIntrospection

    listed = []
    original = BaseDatabaseIntrospection.table_names
    monkeypatch.setattr(BaseDatabaseIntrospection, "table_names",
                        lambda self, *a, **kw: listed.append(1) or original(self, *a, **kw))
    command = load_command_class("django_tenants", "migrate_schemas")
    options = vars(command.create_parser("manage.py", "migrate_schemas").parse_args(
        ["--fake", "--verbosity", "0"]))
    executor = get_executor("standard")((), options)
    with as_owner():
        assert schemas_behind(["rel_behind"]) == ["rel_behind"]
        executor.run_migrations(tenants=["rel_behind"])  # records the missing one (--fake)
        assert schemas_behind(["rel_behind"]) == []
    assert listed == []
