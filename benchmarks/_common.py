"""Shared helpers for the benchmark scripts.

- ``setup_django()``: put the project on ``sys.path`` and configure Django
  (``DJANGO_SETTINGS_MODULE=attendance_site.settings`` unless already set).
- ``tenant_create`` / ``tenant_drop`` / ``scratch_tenant``: a throw-away school schema.
- ``school_year_calendar``: a full English school year (190 days = 380 sessions).
- ``pupils_create``: N pupils with valid UPNs in classes of a given size.
- ``timed``, ``median``, ``percentile``, ``Results``: timing and the PASS/FAIL table.

Scripts import this module as ``benchmarks._common`` after calling ``bootstrap()`` on
their own path (see benchmarks/registers.py), because a script run as
``python benchmarks/x.py`` has ``benchmarks/`` first on ``sys.path``, where a file such
as ``registers.py`` would shadow the Django app of the same name.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "benchmarks"


def bootstrap() -> None:
    """Make the project root importable and stop ``benchmarks/`` shadowing the apps."""
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def setup_django() -> None:
    """Configure Django; the script's own connection is the owner's (OWNER_DATABASE_URL): it
    creates and drops scratch schools, TRUNCATEs and VACUUMs, which the app's role may not.
    Workers it starts connect as the app (DATABASE_URL)."""
    bootstrap()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attendance_site.settings")
    import django

    django.setup()
    from django.db import connections

    from attendance_site.db_roles import is_owner, owner_connection

    if not is_owner(connections["default"]):
        connections["default"] = owner_connection(connections["default"])


# --- scratch tenant -----------------------------------------------------------

_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _check_schema(schema: str) -> None:
    if not _SCHEMA_RE.match(schema) or schema == "public" or schema.startswith("pg_"):
        raise ValueError(f"refusing to use schema name {schema!r}")


def tenant_drop(schema: str, domain: str | None = None) -> bool:
    """Drop the school (row, domain, memberships) and its schema if they exist."""
    from django.db import connection

    from tenants.models import Domain, School

    _check_schema(schema)
    connection.set_schema_to_public()
    found = False
    school = School.objects.filter(schema_name=schema).first()
    if school is not None:
        school.delete(force_drop=True)
        found = True
    with connection.cursor() as cur:  # a schema left behind by an interrupted run
        cur.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", [schema])
        if cur.fetchone():
            cur.execute(f'DROP SCHEMA "{schema}" CASCADE')
            found = True
    if domain:
        found |= Domain.objects.filter(domain=domain).delete()[0] > 0
    return found


def tenant_create(schema: str, domain: str, name: str, preset: str | None = "beecroft", *,
                  quiet: bool = True):
    """Create a fresh school (dropping any previous one of that schema) and switch to it.

    ``quiet`` hides the migration log that creating the schema prints.
    """
    from django.db import connection

    from tenants.services import school_create

    tenant_drop(schema, domain)
    with contextlib.redirect_stdout(io.StringIO()) if quiet else contextlib.nullcontext():
        school = school_create(schema=schema, name=name, domain=domain, preset=preset)
    connection.set_tenant(school)
    return school


@contextlib.contextmanager
def scratch_tenant(schema: str, domain: str, name: str, *, preset: str | None = "beecroft",
                   keep: bool = False):
    """``with scratch_tenant(...) as school:`` — dropped at the end unless ``keep``."""
    from django.db import connection

    school = tenant_create(schema, domain, name, preset)
    try:
        yield school
    finally:
        connection.set_schema_to_public()
        if keep:
            print(f"\n--keep: school schema '{schema}' kept (host {domain}).")
        else:
            tenant_drop(schema, domain)


# --- calendar and pupils ---------------------------------------------------------

def school_year_calendar(start_year: int = 2025, open_days: int = 190, *,
                         keep_existing: bool = False) -> list[date]:
    """Replace the current school's calendar with a full year; return its open days.

    Six terms of an English school year starting in September ``start_year`` (with the
    early-May bank holiday as a closure), trimmed with INSET closures to exactly
    ``open_days`` open days. ``keep_existing=True`` adds the year to the calendar already
    there (e.g. last year, then this year) instead of replacing it.
    """
    from registers.calendar import calendar_replace
    from registers.calendar import open_days as open_days_qs
    from registers.models import CalendarEntry

    def monday(d: date) -> date:
        return d - timedelta(days=d.weekday())

    y = start_year
    sep1 = date(y, 9, 1)
    first = sep1 + timedelta(days=(2 - sep1.weekday()) % 7)  # first Wednesday of September
    terms = [
        ("Autumn 1", first, monday(date(y, 10, 20)) + timedelta(days=4)),
        ("Autumn 2", monday(date(y, 11, 3)), monday(date(y, 12, 15)) + timedelta(days=4)),
        ("Spring 1", monday(date(y + 1, 1, 5)), monday(date(y + 1, 2, 9)) + timedelta(days=4)),
        ("Spring 2", monday(date(y + 1, 2, 23)), monday(date(y + 1, 3, 23)) + timedelta(days=4)),
        ("Summer 1", monday(date(y + 1, 4, 13)), monday(date(y + 1, 5, 18)) + timedelta(days=4)),
        ("Summer 2", monday(date(y + 1, 6, 1)), date(y + 1, 7, 22)),
    ]
    entries = [CalendarEntry(kind="term", start_date=s, end_date=e, label=label)
               for label, s, e in terms]
    may1 = date(y + 1, 5, 1)
    bank_holiday = may1 + timedelta(days=(0 - may1.weekday()) % 7)
    closures = [(bank_holiday, "Early May bank holiday")]
    weekdays = [s + timedelta(days=i) for _, s, e in terms for i in range((e - s).days + 1)
                if (s + timedelta(days=i)).weekday() < 5]
    surplus = len(weekdays) - len(closures) - open_days
    if surplus < 0:
        raise ValueError(f"the generated year has fewer than {open_days} days")
    # INSET days: first days of terms, in turn.
    for i in range(surplus):
        closures.append((terms[i % len(terms)][1] + timedelta(days=i // len(terms)),
                         "INSET"))
    entries += [CalendarEntry(kind="closure", start_date=d, end_date=d, label=label)
                for d, label in closures]
    if keep_existing:
        entries = [CalendarEntry(kind=e.kind, start_date=e.start_date, end_date=e.end_date,
                                 label=e.label) for e in CalendarEntry.objects.all()] + entries
    calendar_replace(entries=entries)
    days = list(open_days_qs(terms[0][1], terms[-1][2]).order_by("date")
                .values_list("date", flat=True))
    if len(days) != open_days:
        raise RuntimeError(f"calendar has {len(days)} open days, wanted {open_days}")
    return days


def make_upn(n: int, la: int = 383, year: int = 25) -> str:
    """The n-th synthetic but valid UPN (check letter computed)."""
    from stdnum.gb.upn import calc_check_digit

    body = f"{la:03d}{2000 + n // 1000:04d}{year:02d}{n % 1000:03d}"
    return calc_check_digit(body) + body


FORENAMES = ["Amelia", "Noah", "Olivia", "Muhammad", "Isla", "George", "Ava", "Leo", "Freya",
             "Arthur", "Lily", "Oscar", "Aisha", "Harry", "Zara", "Jack", "Maya", "Theo"]
SURNAMES = ["Smith", "Khan", "Jones", "Taylor", "Brown", "Ahmed", "Wilson", "Evans", "Patel",
            "Thomas", "Roberts", "Walker", "Wright", "Hussain", "Green", "Hall", "Wood", "Clarke"]


def pupils_create(class_sizes: list[int], *, admission: date = date(2020, 9, 1),
                  first_serial: int = 0) -> list[tuple]:
    """Create classes of the given sizes; return ``[(group, [pupils])]`` in order.

    Classes spread over Reception to Year 6; names are year + letter (``3B``).
    """
    from registers.models import Pupil, RegistrationGroup

    years = [0, 1, 2, 3, 4, 5, 6]
    groups, counters = [], {}
    for i, _ in enumerate(class_sizes):
        yg = years[i % len(years)]
        counters[yg] = counters.get(yg, 0) + 1
        label = "R" if yg == 0 else str(yg)
        groups.append(RegistrationGroup(name=f"{label}{chr(64 + counters[yg])}", year_group=yg))
    RegistrationGroup.objects.bulk_create(groups)
    pupils, n = [], first_serial
    for g, size in zip(groups, class_sizes, strict=True):
        for _ in range(size):
            dob = date(2025 - 5 - g.year_group, 1 + n % 12, 1 + n % 28)
            pupils.append(Pupil(
                upn=make_upn(n), legal_surname=SURNAMES[n % len(SURNAMES)],
                legal_forename=FORENAMES[(n * 7) % len(FORENAMES)], date_of_birth=dob,
                gender="FM"[n % 2], year_group=g.year_group, registration_group=g,
                admission_date=admission, pupil_premium=n % 4 == 0, eal=n % 5 == 0))
            n += 1
    Pupil.objects.bulk_create(pupils, batch_size=2000)
    out, i = [], 0
    for g, size in zip(groups, class_sizes, strict=True):
        out.append((g, pupils[i:i + size]))
        i += size
    return out


# --- timing and reporting -------------------------------------------------------------

def _proc_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) used so far by a local process, from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def db_backend_pid() -> int | None:
    """PID of this connection's PostgreSQL backend if it runs on this machine, else None."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if b"postgres" not in f.read():
                return None
    except OSError:
        return None
    return pid


class Timer:
    seconds: float = 0.0        # wall clock
    cpu_python: float = 0.0     # CPU of this process
    cpu_db: float | None = None  # CPU of the PostgreSQL backend (local server only)

    @property
    def cpu(self) -> float | None:
        """CPU seconds of Python + the database backend: less sensitive than the wall clock
        to other work on a shared machine (misses I/O waits and background writers)."""
        return None if self.cpu_db is None else self.cpu_python + self.cpu_db


@contextlib.contextmanager
def timed(backend_pid: int | None = None):
    """``with timed() as t: ...`` then ``t.seconds`` (and ``t.cpu`` given a backend pid)."""
    t = Timer()
    db0 = _proc_cpu(backend_pid) if backend_pid else None
    cpu0 = time.process_time()
    start = time.perf_counter()
    try:
        yield t
    finally:
        t.seconds = time.perf_counter() - start
        t.cpu_python = time.process_time() - cpu0
        if db0 is not None:
            db1 = _proc_cpu(backend_pid)
            t.cpu_db = None if db1 is None else db1 - db0


def median(values) -> float:
    return statistics.median(values)


def percentile(values, p: float) -> float:
    """Nearest-rank percentile (p in 0–100)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    k = max(1, -(-len(ordered) * p // 100))  # ceil
    return ordered[int(k) - 1]


def repeat(func, runs: int, warmup: int = 1) -> list[float]:
    """Seconds taken by each of ``runs`` calls after ``warmup`` untimed calls."""
    for _ in range(warmup):
        func()
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        func()
        out.append(time.perf_counter() - start)
    return out


@dataclass
class Row:
    name: str
    target: str
    measured: str
    ok: bool | None  # None: information only


@dataclass
class Results:
    title: str
    rows: list[Row] = field(default_factory=list)

    def add(self, name: str, measured: str, target: str = "", ok: bool | None = None) -> None:
        self.rows.append(Row(name, target or "–", measured, ok))

    @property
    def failed(self) -> list[Row]:
        return [r for r in self.rows if r.ok is False]

    def print(self) -> None:
        headers = ("measurement", "target", "measured", "result")
        cells = [(r.name, r.target, r.measured,
                  "" if r.ok is None else ("PASS" if r.ok else "FAIL")) for r in self.rows]
        widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
        line = "+".join("-" * (w + 2) for w in widths)
        print(f"\n{self.title}")
        print(line)
        print(" | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
        print(line)
        for c in cells:
            print(" | ".join(v.ljust(w) for v, w in zip(c, widths, strict=True)))
        print(line)
        checked = [r for r in self.rows if r.ok is not None]
        if self.failed:
            print(f"RESULT: {len(self.failed)} of {len(checked)} targets MISSED: "
                  + ", ".join(r.name for r in self.failed))
        else:
            print(f"RESULT: all {len(checked)} targets met.")


def machine_load() -> str:
    """One line on how busy the machine is: timings on a shared machine vary with it."""
    try:
        one, five, _ = os.getloadavg()
    except OSError:
        return "load average unavailable"
    cores = os.cpu_count() or 1
    note = "" if one <= cores else (f"  ** busy machine (load {one:.1f} > {cores} cores): "
                                    "timings are pessimistic, re-run when idle **")
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {cores} cores{note}"


def fmt_rate(n: int, seconds: float) -> str:
    return f"{n / seconds:,.0f}/s ({n:,} in {seconds:.2f} s)"


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"
