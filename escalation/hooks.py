"""The letters a case needs, without escalation importing the letters app above it.

A stage can queue a letter; the case export lists a case's letters; a person can render a case's
queued letters. Letters sits above escalation (docs/architecture.md), so it provides these at
start-up (``letters/apps.py`` calls ``provide``) and escalation calls the functions here. The
planned rows of ``escalation.services.stage_entry_plan`` name a letter with the marker
``LETTER`` instead of the model; ``letters_insert`` writes them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

LETTER = "letters.Letter"  # the model slot of a planned letter row

_providers: dict[str, Callable[..., Any]] = {}

HOOKS = ("letters_insert", "previous_letters", "case_letters_export", "case_letters_render")


def provide(**fns: Callable[..., Any]) -> None:
    unknown = set(fns) - set(HOOKS)
    if unknown:
        raise ValueError(f"unknown escalation hooks: {', '.join(sorted(unknown))}")
    _providers.update(fns)


def _call(name: str, default, *args):
    fn = _providers.get(name)
    return fn(*args) if fn is not None else default


def letters_insert(rows: list[dict]) -> None:
    """Queue these letters (one statement); one already there for its trigger key is kept."""
    if rows:
        _call("letters_insert", None, rows)


def previous_letters(case_ids: list[int], before: date) -> dict[int, tuple[str, date]]:
    """Each case's latest letter queued before ``before``: case pk -> (template key, night)."""
    return _call("previous_letters", {}, case_ids, before)


def case_letters_export(case_ids: list[int], as_of: date) -> tuple[dict[int, list], list[tuple]]:
    """The cases' letters as they stood on ``as_of`` (by case) and the (case pk, day, letter pk)
    of each one sent by then."""
    return _call("case_letters_export", ({pk: [] for pk in case_ids}, []), case_ids, as_of)


def case_letters_render(case_id: int) -> tuple[int, int]:
    """Render the case's queued letters now: (rendered, failed)."""
    return _call("case_letters_render", (0, 0), case_id)
