"""The school's attendance bands, as the layers below and beside escalation read them.

A school configures its bands in escalation (``escalation.models.BandSet``/``Band``, written by
``escalation.services.band_set_create``). Registers and absences may not import escalation
(docs/architecture.md), so escalation registers its reader here at start-up
(``escalation/apps.py``) and they call ``active_bands()``/``band_for()`` from this module.
Without escalation installed there are no bands and every figure is unbanded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

_reader: Callable[[], list[Any]] | None = None


def reader_register(read: Callable[[], list[Any]]) -> None:
    global _reader
    _reader = read


def active_bands() -> list[Any]:
    """The active band set's bands (objects with ``name``, ``colour`` and ``contains(pct)``)."""
    return _reader() if _reader is not None else []


def band_for(pct: float | None, bands: list[Any]):
    """The band that contains ``pct`` (None for no figure or no band)."""
    if pct is None:
        return None
    return next((b for b in bands if b.contains(pct)), None)
