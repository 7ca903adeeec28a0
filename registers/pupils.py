"""A pupil's record over time: who changed what (the history) and the roll-date rule.

The history itself is written by database triggers (migration 0007); this module only tells
them, for the current transaction, where a change comes from and who made it.
"""

from contextlib import contextmanager
from datetime import date

from django.db import connection, transaction

from .models import Mark, PupilHistory

_SET = ("SELECT set_config('attendance.history_source', %s, true), "
        "set_config('attendance.history_user_id', %s, true), "
        "set_config('attendance.history_user_name', %s, true)")


@contextmanager
def history_context(*, source: str, user=None):
    """Record changes to pupils and contacts made inside as coming from ``source`` and ``user``.

    ``source`` is one of PupilHistory.Source: form, import, admin. The settings are local to
    the transaction (opened here if need be) and cleared again on the way out.
    """
    if source not in PupilHistory.Source.values:
        raise ValueError(f"unknown history source {source!r}")
    name = (user.get_full_name() or user.username) if user is not None else ""
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(_SET, [source, str(user.pk) if user is not None else "", name[:150]])
        yield
        cur.execute(_SET, ["", "", ""])


def pupil_history(*, pupil, limit: int = 300):
    """The newest changes to a pupil's record and contacts first."""
    return PupilHistory.objects.filter(pupil_id=pupil.pk).order_by("-at", "-id")[:limit]


def marks_outside_roll(spans: dict[int, tuple[date, date | None]]) -> dict[int, list[Mark]]:
    """Marks that fall outside each pupil's (admission, leaving) span, in one query."""
    if not spans:
        return {}
    ids = list(spans)
    sql = (f"SELECT m.id FROM {Mark._meta.db_table} m "
           "JOIN unnest(%s::bigint[], %s::date[], %s::date[]) AS r(pupil_id, adm, leave) "
           "USING (pupil_id) "
           "WHERE m.date < r.adm OR m.date > coalesce(r.leave, 'infinity'::date)")
    with connection.cursor() as cur:
        cur.execute(sql, [ids, [spans[i][0] for i in ids], [spans[i][1] for i in ids]])
        mark_ids = [r[0] for r in cur.fetchall()]
    out: dict[int, list[Mark]] = {}
    for m in Mark.objects.filter(pk__in=mark_ids).order_by("date", "session"):
        out.setdefault(m.pupil_id, []).append(m)
    return out


def describe_marks(marks: list[Mark], shown: int = 5) -> str:
    """'2025-09-02 AM /, 2025-09-03 PM N and 4 more' — the marks a date change would hide."""
    text = ", ".join(f"{m.date:%Y-%m-%d} {m.session} {m.code}" for m in marks[:shown])
    return text + (f" and {len(marks) - shown} more" if len(marks) > shown else "")


def roll_change_refusal(marks: list[Mark], admission: date, leaving: date | None) -> str:
    """Why new roll dates are refused: the marks they would leave outside, by name."""
    span = f"{admission:%Y-%m-%d} to {leaving:%Y-%m-%d}" if leaving else f"from {admission:%Y-%m-%d}"
    return (f"would leave {len(marks)} mark(s) outside the roll ({span}): "
            f"{describe_marks(marks)}; change those marks first")


def pupil_care_flags_set(*, pupil, medical_evidence: bool, bereaved_on: date | None, user) -> None:
    """What letters should know before they go (issue 12 item 10): medical evidence on file
    and a recent bereavement. Recorded in the pupil's history as a form change by ``user``."""
    from django.core.exceptions import ValidationError
    from django.utils import timezone

    from .models import Pupil

    if bereaved_on and bereaved_on > timezone.localdate():
        raise ValidationError(f"{bereaved_on:%-d %B %Y} is in the future.")
    with history_context(source="form", user=user):
        Pupil.objects.filter(pk=pupil.pk).update(medical_evidence=medical_evidence, bereaved_on=bereaved_on)
