"""Helpers for escalation tests: marks laid session by session over the school's open days."""

from datetime import date

from django.db import connection

from registers.models import SchoolDay
from tests.factories import marks_create


def open_days(start: date, end: date | None = None) -> list[date]:
    qs = SchoolDay.objects.filter(closed=False, date__gte=start).order_by("date")
    if end:
        qs = qs.filter(date__lte=end)
    return list(qs.values_list("date", flat=True))


def put(pupil, start: date, pattern: str, *, end: date | None = None) -> date:
    """Lay marks from ``start``: one character per session (AM then PM) over open days.

    '/' present (\\ in the PM), and single-letter codes as themselves; '1' means C1 etc. is
    not needed here. Returns the date of the last session laid.
    """
    days = open_days(start, end)
    sessions = [(d, s) for d in days for s in ("AM", "PM")]
    if len(pattern) > len(sessions):
        raise ValueError(f"{len(pattern)} sessions do not fit from {start}")
    marks_create(pupil, [(d, s, ("/" if s == "AM" else "\\") if c == "/" else c)
                         for (d, s), c in zip(sessions, pattern, strict=False)])
    return sessions[len(pattern) - 1][0]


def dump(tables: list[str], *, ignore: dict | None = None) -> dict:
    """Every row of each table, ids and volatile columns dropped, sorted: for idempotency checks."""
    ignore = ignore or {}
    out = {}
    with connection.cursor() as cur:
        for t in tables:
            cur.execute(f"SELECT * FROM {t}")
            names = [c.name for c in cur.description]
            skip = {"id", *ignore.get(t, ())}
            keep = [i for i, n in enumerate(names) if n not in skip]
            out[t] = sorted(tuple(repr(r[i]) for i in keep) for r in cur.fetchall())
    return out


def put_through(pupil, start: date, end: date, head: str, then: str) -> date:
    """``head`` from ``start``, then ``then`` repeated to fill every session up to ``end``."""
    n = 2 * len(open_days(start, end))
    rest = max(n - len(head), 0)
    return put(pupil, start, (head + then * (rest // max(len(then), 1) + 1))[:n], end=end)
