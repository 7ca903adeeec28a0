"""Dashboards benchmark: the school dashboard and the trust dashboard, server-side.

    .venv/bin/python benchmarks/dashboards.py [--pupils 1000] [--schools 18]
        [--trust-pupils 300] [--runs 30] [--keep] [--seed 1]

1. School dashboard of a ``--pupils`` school with a full school year of marks (190 days =
   380 sessions, as of the last day) plus the previous year's marks (the "last year" line):
   p50/p95 of warm GETs through the real view (django.test.Client, headteacher), and the same
   for the drill-down list of PA pupils (the page the PA figure links to).
   Target: p95 <= 300 ms for both. Warm means served from the figures cache, whose key holds a
   version of the data read on every request (dashboards.figures.data_version). Cold (figures
   computed there and then: the first request after a change when no warm-up ran) is measured
   for the default view and for a period and a year group no warm-up computes: p95 <= 300 ms
   each (whole weeks come from the week counts, registers_markweek). Also an XLSX export and
   the QA report. Then a register is saved (marks_save, as the register page does) and the
   dashboard must show the new figures at once. Then (issue 18.4) rounds of: a register saved,
   the warm-up it queues run as the worker would, and the head's first request of the
   dashboard, then of the PA list, then of the autumn term's dashboard (which no warm-up
   computes), timed: p95 <= 300 ms each.
2. Trust dashboard on the public host for ``--schools`` schools of ``--trust-pupils`` pupils
   each (full year + last year): p50/p95, warm and cold. Target: <= 1 s.

Scratch schools (schemas ``bench_dash``, ``bench_trust_NN``) are dropped at the end unless
--keep. Uses the database in DATABASE_URL. Prints PASS/FAIL per target and exits 0.
"""

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _ROOT / "benchmarks"]
sys.path.insert(0, str(_ROOT))

import argparse  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
from datetime import UTC, date, datetime  # noqa: E402

from benchmarks._common import (  # noqa: E402
    Results,
    fmt_ms,
    percentile,
    pupils_create,
    repeat,
    school_year_calendar,
    setup_django,
    tenant_create,
    tenant_drop,
    timed,
)

SCHOOL = ("bench_dash", "bench-dash.localhost", "Dashboard Benchmark Primary")
TRUST_SLUG = "bench-dash-trust"
HEAD_USER, DIRECTOR_USER = "bench_dash_head", "bench_dash_director"
SCHOOL_TARGET, TRUST_TARGET = 0.300, 1.0


def class_sizes(n: int, size: int = 30) -> list[int]:
    return [size] * (n // size) + ([n % size] if n % size else [])


# Complexity: a measurement script: linear setup.
def load_marks(pupils, day_lists, rng) -> int:  # noqa: C901
    """COPY a realistic year of marks per list of days for every pupil; returns rows."""
    from django.db import connection

    from registers.models import Mark, MarkWeek, Pupil
    from registers.services import mark_weeks_compact

    now = datetime.now(UTC)
    n = 0
    with connection.cursor() as cur, cur.cursor.copy(
            f"COPY {Mark._meta.db_table} (pupil_id, date, session, code, minutes_late, "
            "recorded_at) FROM STDIN") as copy:
        for p in pupils:
            rate = min(0.6, rng.expovariate(1 / 0.045))  # a long tail of PA / SA pupils
            for days in day_lists:
                holiday = set()
                if rng.random() < 0.08:
                    start = rng.randrange(0, len(days) - 5)
                    holiday = set(range(start, start + 5))
                for i, d in enumerate(days):
                    if i in holiday:
                        day_code = "G"
                    elif rng.random() < rate:
                        day_code = rng.choice("IIIIIIOONMCE")
                    else:
                        day_code = None
                    for session in ("AM", "PM"):
                        minutes = None
                        if day_code:
                            code = day_code
                        else:
                            r = rng.random()
                            code = "/" if session == "AM" else "\\"
                            if r < 0.012:
                                code = rng.choice(["M", "I", "O", "N"])
                            elif session == "AM" and r < 0.04:
                                code = "L" if r < 0.035 else "U"
                                minutes = rng.randint(1, 30) if code == "L" else rng.randint(31, 60)
                        copy.write_row((p.pk, d, session, code, minutes, now))
                        n += 1
    mark_weeks_compact()  # steady state: what the nightly run would have done
    with connection.cursor() as cur:
        # and what autovacuum would have done by the next day.
        cur.execute(f"VACUUM ANALYZE {Mark._meta.db_table}")
        cur.execute(f"VACUUM ANALYZE {MarkWeek._meta.db_table}")
        cur.execute(f"ANALYZE {Pupil._meta.db_table}")
    return n


def school_setup(schema, domain, name, pupils: int, rng, trust=None):
    from registers.models import Pupil

    school = tenant_create(schema, domain, name)
    if trust is not None:
        school.trust = trust
        school.save(update_fields=["trust"])
    last_year = school_year_calendar(2024)
    days = school_year_calendar(2025)
    classes = pupils_create(class_sizes(pupils))
    all_pupils = [p for _, ps in classes for p in ps]
    # Some pupils in every analysed group.
    Pupil.objects.filter(pk__in=[p.pk for p in all_pupils[::7]]).update(sen_status="K")
    Pupil.objects.filter(pk__in=[p.pk for p in all_pupils[::23]]).update(sen_status="E")
    Pupil.objects.filter(pk__in=[p.pk for p in all_pupils[::3]]).update(fsm=True)
    marks = load_marks(all_pupils, [last_year, days], rng)
    return school, days, classes, marks


def bench_school(results: Results, args, rng) -> None:
    from django.db import connection
    from django.test import Client

    from registers import selectors
    from registers.models import Pupil
    from registers.services import Entry, marks_save
    from tenants.roles import Role
    from tenants.services import person_grant

    schema, domain, name = SCHOOL
    with timed() as t:
        school, days, classes, marks = school_setup(schema, domain, name, args.pupils, rng)
    print(f"school: {args.pupils} pupils, {marks:,} marks (two years) set up in {t.seconds:.1f} s")
    connection.set_tenant(school)
    head = person_grant(username=HEAD_USER, role=Role.HEAD, school=school)
    client = Client(HTTP_HOST=domain)
    client.force_login(head)
    as_of = days[-1]
    q = f"from={date(2025, 8, 1)}&to={as_of}"

    def get(url):
        r = client.get(url)
        assert r.status_code == 200, (url, r.status_code)
        return r

    for label, url, target in [
        ("school dashboard", f"/dashboard/?{q}", SCHOOL_TARGET),
        ("PA drill-down list", f"/dashboard/pupils/?{q}&measure=pa", SCHOOL_TARGET),
        ("  year groups XLSX export", f"/dashboard/export/year_groups.xlsx?{q}", None),
        ("  half-termly QA report", f"/dashboard/qa/?from={days[-30]}&to={as_of}", None),
    ]:
        times = repeat(lambda url=url: get(url), args.runs if target else max(5, args.runs // 3),
                       warmup=2)
        p50, p95 = percentile(times, 50), percentile(times, 95)
        if target:
            results.add(f"{label}, {args.pupils} pupils x full year (p50 / p95 of {len(times)})",
                        f"{fmt_ms(p50)} / {fmt_ms(p95)}", f"p95 <= {target * 1000:.0f} ms",
                        p95 <= target)
        else:
            results.add(f"{label} (p50 / p95 of {len(times)})", f"{fmt_ms(p50)} / {fmt_ms(p95)}")

    # Cold: the first request after any save recomputes (the cache key holds the data version)
    # unless a warm-up ran: the figures cache (shared, Redis: not the default cache) emptied.
    from django.core.cache import caches

    cache = caches["dashboards"]

    # Issue 18.4 asks for never slower than the target: a period or group nobody has opened
    # since the data changed is computed there and then (whole weeks from the week counts).
    autumn = f"from={days[0]}&to={date(2025, 12, 19)}"
    for label, url in [("school dashboard", f"/dashboard/?{q}"),
                       ("PA drill-down list", f"/dashboard/pupils/?{q}&measure=pa"),
                       ("school dashboard, autumn term", f"/dashboard/?{autumn}"),
                       ("school dashboard, Year 4, all pupils", f"/dashboard/?{q}&year_group=4&cohort=all"),
                       ("PA drill-down list, autumn term", f"/dashboard/pupils/?{autumn}&measure=pa")]:
        def cold(url=url):
            cache.clear()
            get(url)

        times = repeat(cold, max(5, args.runs // 3), warmup=1)
        p95 = percentile(times, 95)
        results.add(f"{label}, cold: figures computed, no warm-up (p50 / p95 of {len(times)})",
                    f"{fmt_ms(percentile(times, 50))} / {fmt_ms(p95)}",
                    f"p95 <= {SCHOOL_TARGET * 1000:.0f} ms", p95 <= SCHOOL_TARGET)

    # Correct right after a register is saved: amend a class's last PM session to N.
    connection.set_tenant(school)
    group, pupils = classes[0]
    pupils = list(Pupil.objects.filter(registration_group=group))
    marks_save(school=school, day=as_of, session="PM", pupils=pupils,
               entries=[Entry(p.pk, "N", None, "benchmark amendment") for p in pupils],
               user=head, role=Role.HEAD.label)
    page = get(f"/dashboard/?{q}").content.decode()
    csa = selectors.national_cohort(selectors.pupils_on_roll(date(2025, 8, 1), as_of), as_of)
    want = selectors.stats_total(pupils=csa, date_from=date(2025, 8, 1), date_to=as_of)
    shown = re.search(r'data-figure="attendance-csa">([0-9.]+)%', page).group(1)
    n_now = re.search(r"No reason yet.*?</tr>", page, re.S)
    ok = shown == f"{want.attendance_pct:.1f}" and n_now is not None
    results.add("dashboard correct right after a register save", f"shows {shown}% "
                f"(selectors: {want.attendance_pct:.3f}%)", "equal", ok)

    # Issue 18.4: the head's first look right after registers are saved. Each round saves a
    # register (a class's session amended), runs the warm-up the save queues (the Celery task
    # dashboard_warm, WARM_DELAY s later) and times the head's next GET of the dashboard as
    # opened from the menu, on the benchmark's last school day as "today".
    from unittest import mock

    from dashboards.tasks import dashboard_warm

    after, after_pa, after_other, rounds = [], [], [], max(5, args.runs // 3)
    with mock.patch("django.utils.timezone.localdate", return_value=as_of):
        for k in range(rounds):
            connection.set_tenant(school)
            marks_save(school=school, day=days[-2 - k % 5], session="AM", pupils=pupils,
                       entries=[Entry(p.pk, "IN"[k % 2], None, "benchmark amendment") for p in pupils],
                       user=head, role=Role.HEAD.label)
            dashboard_warm(schema)
            with timed() as t:
                get("/dashboard/")
            after.append(t.seconds)
            with timed() as t:  # then the PA figure's link, as the head would follow it
                get("/dashboard/pupils/?measure=pa")
            after_pa.append(t.seconds)
            with timed() as t:  # then a period no warm-up computes: the autumn term
                get(f"/dashboard/?{autumn}")
            after_other.append(t.seconds)
    p95 = percentile(after, 95)
    results.add(f"school dashboard, first request after a register save + warm-up (p50 / p95 of "
                f"{rounds})", f"{fmt_ms(percentile(after, 50))} / {fmt_ms(p95)}",
                f"p95 <= {SCHOOL_TARGET * 1000:.0f} ms", p95 <= SCHOOL_TARGET)
    p95 = percentile(after_pa, 95)
    results.add(f"PA drill-down list, first request after a register save + warm-up (p50 / p95 of "
                f"{rounds})", f"{fmt_ms(percentile(after_pa, 50))} / {fmt_ms(p95)}",
                f"p95 <= {SCHOOL_TARGET * 1000:.0f} ms", p95 <= SCHOOL_TARGET)
    p95 = percentile(after_other, 95)
    results.add(f"school dashboard, autumn term, first request after a register save (p50 / p95 "
                f"of {rounds})", f"{fmt_ms(percentile(after_other, 50))} / {fmt_ms(p95)}",
                f"p95 <= {SCHOOL_TARGET * 1000:.0f} ms", p95 <= SCHOOL_TARGET)
    connection.set_schema_to_public()


def bench_trust(results: Results, args, rng) -> None:
    from django.db import connection
    from django.test import Client

    from tenants.models import Trust
    from tenants.roles import Role
    from tenants.services import person_grant, public_tenant_ensure

    connection.set_schema_to_public()
    public_tenant_ensure()
    trust, _ = Trust.objects.get_or_create(slug=TRUST_SLUG, defaults={"name": "Benchmark Trust"})
    total_marks = 0
    with timed() as t:
        for i in range(args.schools):
            _, _, _, marks = school_setup(f"bench_trust_{i:02d}", f"bench-trust-{i:02d}.localhost",
                                          f"Benchmark Academy {i + 1:02d}", args.trust_pupils,
                                          rng, trust=trust)
            total_marks += marks
            connection.set_schema_to_public()
    print(f"trust: {args.schools} schools x {args.trust_pupils} pupils, {total_marks:,} marks "
          f"set up in {t.seconds:.1f} s")
    director = person_grant(username=DIRECTOR_USER, role=Role.TRUST_DIRECTOR, trust=trust)
    client = Client(HTTP_HOST="localhost")
    client.force_login(director)
    url = f"/trust/{TRUST_SLUG}/?from=2025-08-01&to=2026-07-22"

    def get():
        r = client.get(url)
        assert r.status_code == 200, r.status_code
        assert r.content.count(b"Benchmark Academy") >= args.schools

    times = repeat(get, max(5, args.runs // 2), warmup=1)
    p50, p95 = percentile(times, 50), percentile(times, 95)
    results.add(f"trust dashboard, {args.schools} schools x {args.trust_pupils} pupils "
                f"(p50 / p95 of {len(times)})", f"{fmt_ms(p50)} / {fmt_ms(p95)}",
                f"<= {TRUST_TARGET * 1000:.0f} ms", p95 <= TRUST_TARGET)
    from django.core.cache import caches

    cache = caches["dashboards"]

    def cold():
        cache.clear()
        get()

    times = repeat(cold, 5, warmup=0)
    results.add(f"  trust dashboard, cold: every school recomputed (p50 / p95 of {len(times)})",
                f"{fmt_ms(percentile(times, 50))} / {fmt_ms(percentile(times, 95))}")


def cleanup(args) -> None:
    from django.db import connection
    from django_tenants.utils import schema_context, schema_exists

    from tenants.models import Trust, User

    # Deleting a user also clears tenant tables (class teachers): do it inside a school schema.
    if schema_exists(SCHOOL[0]):
        with schema_context(SCHOOL[0]):
            User.objects.filter(username__in=[HEAD_USER, DIRECTOR_USER]).delete()
    connection.set_schema_to_public()
    tenant_drop(SCHOOL[0], SCHOOL[1])
    for i in range(args.schools):
        tenant_drop(f"bench_trust_{i:02d}", f"bench-trust-{i:02d}.localhost")
    connection.set_schema_to_public()
    Trust.objects.filter(slug=TRUST_SLUG, schools__isnull=True).delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pupils", type=int, default=1000)
    parser.add_argument("--schools", type=int, default=18)
    parser.add_argument("--trust-pupils", type=int, default=300)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--skip-trust", action="store_true")
    args = parser.parse_args()
    setup_django()
    import os

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    rng = random.Random(args.seed)
    results = Results("Dashboards benchmark")
    try:
        bench_school(results, args, rng)
        if not args.skip_trust:
            bench_trust(results, args, rng)
    finally:
        if args.keep:
            print("--keep: scratch schools kept")
        else:
            cleanup(args)
    results.print()


if __name__ == "__main__":
    main()
