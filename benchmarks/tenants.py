"""Many schools on one database: provisioning, a release's migration, the night, a web worker.

    .venv/bin/python benchmarks/tenants.py [--schools 1000] [--pupils 200] [--weeks 13]
                                           [--workers 2] [--batch 50] [--ready 10] [--quick] [--keep]

Run it against a scratch database (DATABASE_URL=.../att_bench; `scripts/services.py up` creates
one): it refuses a database holding schools other than its own (``bt_0001`` ...), because the
release step it times is the real ``migrate_schemas`` over every school of the database.

1. Provisioning: ``--schools`` schools through ``create_schools FILE.csv`` as it runs (a
   process of its own connected as the app's role; the time it prints): the first ``--ready``
   one at a time, each taking a ready schema made ahead of time (as a worker does; target
   <= 0.5 s a school), the rest ``--batch`` schools a list with none ready, each a clone of
   the template schema made there and then (tenants/provisioning.py). Then the schema clone
   alone (as the owner), for comparison.
2. Per-school catalogue: relations (tables, indexes, sequences, TOAST) and bytes of an empty
   school, and what that makes for 21,600 schools.
3. Data: ``--pupils`` pupils a school and ``--weeks`` weeks (a term) of marks, generated in SQL.
4. A release: a real migration (a new column with a default and an index on registers_mark),
   written to registers/migrations for the run and removed afterwards, applied with
   ``migrate_schemas --executor=multiprocessing`` (TENANT_MULTIPROCESSING_MAX_PROCESSES); and
   ``migrate_schemas`` with nothing to apply, per school.
5. The night: every school's nightly run on ``--workers`` processes (as Celery workers would),
   schools per minute per worker core.
6. A web worker's memory (RSS) after serving a head's dashboard in every school, in a process of
   its own connected as the app's role.

While step 4 runs, the scratch migration is a file of this checkout: run no tests or other
commands from the same checkout meanwhile (they would apply it to their own template).

``--quick`` is ``--schools 20 --pupils 50 --weeks 4``. Prints a table and the machine's load;
exits 0 (a measurement). The schools (and the scratch migration) are removed at the end unless
--keep.
"""

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _ROOT / "benchmarks"]
sys.path.insert(0, str(_ROOT))

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from datetime import timedelta  # noqa: E402

from benchmarks._common import (  # noqa: E402
    Results,
    machine_load,
    percentile,
    pupils_create,
    school_year_calendar,
    setup_django,
    timed,
)

PREFIX = "bt_"
PROVISION_TARGET = 0.5
ENGLAND = 21_600
MIGRATION_NAME = "9999_bench_scratch_column"
MIGRATION_FILE = _ROOT / "registers" / "migrations" / f"{MIGRATION_NAME}.py"


def schema_of(i: int) -> str:
    return f"{PREFIX}{i:04d}"


def domain_of(i: int) -> str:
    return f"bt-{i:04d}.localhost"


def guard_scratch_database() -> None:
    from tenants.models import School

    others = list(School.objects.exclude(schema_name="public").exclude(
        schema_name__startswith=PREFIX).values_list("schema_name", flat=True)[:5])
    if others:
        sys.exit(f"refusing: this database holds other schools ({', '.join(others)} ...); run against "
                 "a scratch database (DATABASE_URL=.../att_bench, OWNER_DATABASE_URL likewise)")


def create_schools_timed(rows: list[tuple], tmp: str, name: str) -> float:
    """``create_schools`` on a list of ``rows`` in a process of its own; the seconds it prints."""
    import csv
    import re

    path = Path(tmp) / f"{name}.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([("schema", "name", "domain", "preset", "trust"), *rows])
    out = subprocess.run([sys.executable, "manage.py", "create_schools", str(path)], cwd=_ROOT,
                         check=True, capture_output=True, text=True,
                         env={**os.environ, "READY_SCHEMAS": "0"})  # no refills queued
    return float(re.search(r"school\(s\) in ([0-9.]+) s", out.stdout).group(1))


def provision(res: Results, n: int, batch: int, ready: int) -> list[str]:
    """``create_schools FILE.csv`` as it runs (its own process, connected as the app's role,
    cloning as the owner), ``batch`` schools a list; its own timing line is what is reported.
    First ``ready`` schools from ready schemas (made ahead of time, as a worker does), then the
    rest with none ready, each copied there and then."""
    import tempfile

    from tenants import provisioning

    with timed() as t:
        if not provisioning.template_current():
            provisioning.template_migrate()
    res.add("template schema migrated (once per release)", f"{t.seconds:.1f} s")
    presets = ["lap", "beecroft", "stlukes", "cheetwood", "bankslane", ""]
    rows = [(schema_of(i), f"Bench School {i}", domain_of(i), presets[i % len(presets)],
             f"bench-trust-{i // 50}") for i in range(n)]
    ready = min(ready, n)
    with tempfile.TemporaryDirectory() as tmp:
        if ready:
            with timed() as t:
                made = provisioning.ready_fill(ready)["made"]
            res.add(f"  ready schemas made ahead (a worker's ready_schemas_fill), {made}",
                    f"{t.seconds / max(made, 1):.3f} s each")
            seconds = sum(create_schools_timed([row], tmp, f"ready-{k}")
                          for k, row in enumerate(rows[:ready]))
            each = seconds / ready
            res.add(f"provisioning, {ready} schools one at a time from ready schemas "
                    "(create_schools, preset, trust, domain)", f"{each:.3f} s a school",
                    f"<= {PROVISION_TARGET} s", each <= PROVISION_TARGET)
            print(f"  provisioned {ready} from ready schemas: {each:.3f} s a school", flush=True)
        per_batch, total = [], 0.0
        for start in range(ready, n, batch):
            chunk = rows[start:start + batch]
            seconds = create_schools_timed(chunk, tmp, f"schools-{start}")
            total += seconds
            per_batch.append(seconds / len(chunk))
            print(f"  provisioned {start + len(chunk)}/{n}: {seconds / len(chunk):.3f} s a school "
                  f"({os.getloadavg()[0]:.1f} load)", flush=True)
    if n > ready:
        each = total / (n - ready)
        res.add(f"provisioning, {n - ready} schools copied there and then (none ready; "
                f"create_schools lists of {batch})", f"{each:.3f} s a school ({total:.0f} s)")
        res.add("  batch of the slowest schools (p95 of batches)",
                f"{percentile(per_batch, 95):.3f} s a school")
    from django.db import connection

    from attendance_site.db_roles import as_owner

    bare = []
    for k in range(5):  # the schema alone: no School row, domain, preset or trust
        with timed() as t:
            provisioning.schema_clone(f"{PREFIX}bare_{k}")
        bare.append(t.seconds)
    with as_owner(), connection.cursor() as cur:
        for k in range(5):
            cur.execute(f'DROP SCHEMA "{PREFIX}bare_{k}" CASCADE')
    res.add("  the schema clone alone (DDL + grants), median of 5", f"{sorted(bare)[2]:.3f} s")
    return [r[0] for r in rows]


def catalogue(res: Results, schema: str) -> None:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("""
            WITH rels AS (
                SELECT c.oid, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = %s),
            toast AS (
                SELECT t.oid FROM pg_class c JOIN pg_class t ON t.oid = c.reltoastrelid
                WHERE c.oid IN (SELECT oid FROM rels)
                UNION ALL
                SELECT i.indexrelid FROM pg_class c JOIN pg_index i ON i.indrelid = c.reltoastrelid
                WHERE c.oid IN (SELECT oid FROM rels))
            SELECT (SELECT count(*) FROM rels), (SELECT count(*) FROM rels WHERE relkind = 'r'),
                   (SELECT count(*) FROM rels WHERE relkind = 'i'),
                   (SELECT count(*) FROM rels WHERE relkind = 'S'), (SELECT count(*) FROM toast),
                   (SELECT sum(pg_relation_size(oid)) FROM rels)
                   + (SELECT coalesce(sum(pg_relation_size(oid)), 0) FROM toast),
                   (SELECT count(*) FROM pg_attribute WHERE attrelid IN (SELECT oid FROM rels))""", [schema])
        rels, tables, indexes, seqs, toast, size, attrs = cur.fetchone()
    size = float(size)
    total = rels + toast
    res.add("catalogue of one empty school: relations",
            f"{total} ({tables} tables, {indexes} indexes, {seqs} sequences, {toast} TOAST)")
    res.add("  bytes on disk (empty school)", f"{size / 1e6:.2f} MB; {attrs} pg_attribute rows")
    res.add(f"  x {ENGLAND:,} schools (every state school in England)",
            f"{total * ENGLAND / 1e6:.1f} M relations, {size * ENGLAND / 1e9:.0f} GB")


def populate(schemas: list[str], pupils: int, weeks: int) -> int:
    from django.db import connection
    from django_tenants.utils import schema_context

    total = 0
    for k, schema in enumerate(schemas):
        with schema_context(schema):
            days = school_year_calendar(2025, 190)
            cutoff = days[0] + timedelta(weeks=weeks)
            sizes = [30] * (pupils // 30) + ([pupils % 30] if pupils % 30 else [])
            pupils_create(sizes, first_serial=k * pupils)
            with connection.cursor() as cur:
                cur.execute("SELECT setseed(0.42)")
                cur.execute("""
                    INSERT INTO registers_mark (pupil_id, date, session, code, recorded_at)
                    SELECT p.id, d.date, s.session,
                           CASE WHEN random() < (p.id %% 20) / 100.0
                                THEN (ARRAY['I', 'I', 'O', 'N', 'M', 'G', 'U'])[1 + floor(random() * 7)::int]
                                WHEN s.session = 'AM' THEN '/' ELSE '\\' END, now()
                    FROM registers_pupil p CROSS JOIN registers_schoolday d
                    CROSS JOIN (VALUES ('AM'), ('PM')) AS s(session)
                    WHERE NOT d.closed AND d.date < %s""", [cutoff])
                total += cur.rowcount
                cur.execute("ANALYZE registers_mark")
        if (k + 1) % 25 == 0 or k + 1 == len(schemas):
            print(f"  data for {k + 1}/{len(schemas)} schools ({total:,} marks)", flush=True)
    return total


def _leaf(app: str) -> str:
    from django.db.migrations.loader import MigrationLoader

    return max(name for a, name in MigrationLoader(None).graph.leaf_nodes() if a == app)


def release(res: Results, schemas: list[str], processes: int) -> None:
    """A real migration over every school, with the parallel executor: the release step."""
    from django.conf import settings
    from django.core.management import call_command

    n = len(schemas)
    settings.TENANT_MULTIPROCESSING_MAX_PROCESSES = processes
    with timed() as t:
        call_command("migrate_schemas", tenant=True, executor="multiprocessing", interactive=False,
                     verbosity=0)
    res.add(f"migrate_schemas --executor=multiprocessing, nothing to apply, {n} schools",
            f"{t.seconds:.1f} s ({t.seconds / n:.3f} s a school)")
    MIGRATION_FILE.write_text(f'''"""Scratch migration of benchmarks/tenants.py; removed when it ends."""
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("registers", "{_leaf("registers")}")]
    operations = [
        migrations.AddField("mark", "bench_scratch", models.SmallIntegerField(default=0, db_index=True)),
    ]
''')
    try:
        with timed() as t:
            subprocess.run([sys.executable, "manage.py", "migrate_schemas", "--tenant",
                            "--executor=multiprocessing", "--noinput", "-v", "0"], cwd=_ROOT, check=True,
                           env={**os.environ, "TENANT_MULTIPROCESSING_MAX_PROCESSES": str(processes)})
        res.add(f"a real migration (new column with a default + index on marks), {n} schools, "
                f"{processes} processes", f"{t.seconds:.1f} s ({t.seconds / n:.3f} s a school)")
        res.add(f"  x {ENGLAND:,} schools at that rate", f"{t.seconds / n * ENGLAND / 60:.0f} min")
        with timed() as t:  # and back, so that the template and the code agree again
            subprocess.run([sys.executable, "manage.py", "migrate_schemas", "--tenant",
                            "--executor=multiprocessing", "--noinput", "-v", "0", "registers",
                            _leaf_before()], cwd=_ROOT, check=True,
                           env={**os.environ, "TENANT_MULTIPROCESSING_MAX_PROCESSES": str(processes)})
        res.add("  the same migration reversed", f"{t.seconds:.1f} s")
    finally:
        MIGRATION_FILE.unlink(missing_ok=True)
        from django.db import connection

        with connection.cursor() as cur:  # records of a migration that no longer exists
            for schema in [settings.TENANT_BASE_SCHEMA, *schemas]:
                cur.execute(f'DELETE FROM "{schema}".django_migrations WHERE app = %s AND name = %s',
                            ["registers", MIGRATION_NAME])


def _leaf_before() -> str:
    names = sorted(p.stem for p in MIGRATION_FILE.parent.glob("0*.py"))
    return names[-1]


def _night(args):
    schema, night = args
    setup_django()
    from escalation.nightly import run_for_schema

    with timed() as t:
        run_for_schema(schema, night)
    return schema, t.seconds


def nightly(res: Results, schemas: list[str], workers: int) -> None:
    from django.db import connection
    from django_tenants.utils import schema_context

    from registers.models import SchoolDay

    with schema_context(schemas[0]):
        marked = SchoolDay.objects.filter(closed=False, date__lt=SchoolDay.objects.filter(
            closed=False).order_by("date").values_list("date", flat=True)[60]).order_by("-date").first()
    night = marked.date
    connection.close()
    with timed() as t, ProcessPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(_night, [(s, night) for s in schemas], chunksize=1))
    n = len(schemas)
    slow = max(results, key=lambda r: r[1])
    res.add(f"nightly, {n} schools, {workers} worker processes", f"{t.seconds:.1f} s",
            "")
    res.add("  schools per minute per worker core", f"{n / t.seconds * 60 / workers:.0f}")
    res.add("  median / slowest school", f"{sorted(r[1] for r in results)[n // 2]:.2f} s / "
                                         f"{slow[1]:.2f} s ({slow[0]})")
    res.add(f"  x {ENGLAND:,} schools on {workers} cores at that rate",
            f"{t.seconds / n * ENGLAND / 3600:.1f} h")


PROBE = r"""
import json, os, sys
sys.path.insert(0, sys.argv[1])
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attendance_site.settings")
import django
django.setup()
from django.test import Client
from tenants.models import User

def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) * 1024

user = User.objects.get(username="bench_head")
hosts = json.loads(sys.argv[2])
client = Client()
client.force_login(user)
before = rss()
codes = {}
for host in hosts:
    r = client.get("/dashboard/", HTTP_HOST=host)
    codes[r.status_code] = codes.get(r.status_code, 0) + 1
after = rss()
for host in hosts:  # a second round: does it keep growing?
    client.get("/dashboard/", HTTP_HOST=host)
print(json.dumps({"before": before, "after": after, "again": rss(), "codes": codes}))
"""


def web_worker(res: Results, schemas: list[str]) -> None:
    from tenants.models import School
    from tenants.roles import Role
    from tenants.services import person_grant

    for school in School.objects.filter(schema_name__in=schemas):
        person_grant(username="bench_head", role=Role.HEAD, school=school, first_name="Bench",
                     last_name="Head")
    hosts = [domain_of(int(s[len(PREFIX):])) for s in schemas]
    out = subprocess.run([sys.executable, "-c", PROBE, str(_ROOT), json.dumps(hosts)], cwd=_ROOT,
                         capture_output=True, text=True, env={**os.environ, "DEBUG": "1"})
    if out.returncode:
        res.add("web worker memory", f"probe failed: {out.stderr.strip().splitlines()[-1:]}")
        return
    m = json.loads(out.stdout.strip().splitlines()[-1])
    res.add(f"web worker RSS after a head's dashboard in all {len(schemas)} schools",
            f"{m['after'] / 1e6:.0f} MB (from {m['before'] / 1e6:.0f} MB after one sign-in; "
            f"{m['again'] / 1e6:.0f} MB after a second round; statuses {m['codes']})")


def cleanup(schemas: list[str]) -> None:
    from django.db import connection

    from tenants.models import Domain, School, Trust

    connection.set_schema_to_public()
    for school in School.objects.filter(schema_name__startswith=PREFIX):
        school.delete(force_drop=True)
    Domain.objects.filter(domain__startswith="bt-").delete()
    Trust.objects.filter(slug__startswith="bench-trust-", schools__isnull=True).delete()
    with connection.cursor() as cur:
        for schema in schemas:
            cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schools", type=int, default=1000)
    parser.add_argument("--pupils", type=int, default=200)
    parser.add_argument("--weeks", type=int, default=13, help="weeks of marks (a term)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=50, help="schools a create_schools list")
    parser.add_argument("--quick", action="store_true", help="--schools 20 --pupils 50 --weeks 4")
    parser.add_argument("--ready", type=int, default=10,
                        help="schools made from ready schemas first (the rest copied there and then)")
    parser.add_argument("--skip-release", action="store_true")
    parser.add_argument("--keep", action="store_true")
    o = parser.parse_args(argv)
    if o.quick:
        o.schools, o.pupils, o.weeks = 20, 50, 4
    setup_django()
    guard_scratch_database()
    print(machine_load())
    res = Results(f"Many schools: {o.schools} schools x {o.pupils} pupils, {o.weeks} weeks of marks")
    schemas = [schema_of(i) for i in range(o.schools)]
    try:
        cleanup(schemas)
        schemas = provision(res, o.schools, o.batch, o.ready)
        catalogue(res, schemas[-1])
        with timed() as t:
            marks = populate(schemas, o.pupils, o.weeks)
        res.add("data generated", f"{marks:,} marks in {t.seconds:.0f} s")
        if not o.skip_release:
            release(res, schemas, o.workers)
        nightly(res, schemas, o.workers)
        web_worker(res, schemas)
    finally:
        if not o.keep:
            cleanup(schemas)
    res.print()
    print(machine_load())
    return 0


if __name__ == "__main__":
    sys.exit(main())
