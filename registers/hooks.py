"""What the apps above registers tell the register pages, without registers importing them.

Registers is below absences (docs/architecture.md), yet the register shows parents' absence
reports, the office's calling list shows first-day messages, and the off-roll checks ask about
granted leave. Absences provides those readers at start-up (``absences/apps.py`` calls
``provide``); registers calls the functions here, which answer "nothing" when no app provides
them (so registers works, and is tested, on its own).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

_providers: dict[str, Callable[..., Any]] = {}

HOOKS = ("session_reports", "reports_on", "family_messages_by_pupil", "latest_granted_leave",
         "granted_leave_pupils")


def provide(**readers: Callable[..., Any]) -> None:
    unknown = set(readers) - set(HOOKS)
    if unknown:
        raise ValueError(f"unknown registers hooks: {', '.join(sorted(unknown))}")
    _providers.update(readers)


def _call(name: str, default, *args):
    reader = _providers.get(name)
    return reader(*args) if reader is not None else default


def session_reports(pupil_ids, day: date, session: str) -> dict[int, Any]:
    """Parents' reports covering the session, by pupil (absences.selectors.reports_covering)."""
    return _call("session_reports", {}, pupil_ids, day, session)


def reports_on(day: date) -> list[Any]:
    """Every parent's report covering ``day``, with its pupil and class."""
    return _call("reports_on", [], day)


def family_messages_by_pupil(day: date, session: str) -> dict[int, list]:
    """The session's first-day messages to families, newest first, by pupil."""
    return _call("family_messages_by_pupil", {}, day, session)


def latest_granted_leave(pupil_id: int, before: date):
    """The latest granted (or part-granted) leave of absence that ended before ``before``."""
    return _call("latest_granted_leave", None, pupil_id, before)


def granted_leave_pupils(ended_from: date, ended_before: date) -> set[int]:
    """Pupils whose granted leave ended in [``ended_from``, ``ended_before``)."""
    return _call("granted_leave_pupils", set(), ended_from, ended_before)
