"""Fixtures for register tests: a settable clock for registers.policy."""

from datetime import datetime, time

import pytest
from django.utils import timezone


@pytest.fixture
def clock(monkeypatch):
    """``clock(day, hh, mm)`` makes it that moment (school time) for registers.policy and
    marks_save, so "today", "open" and "closed" registers can be tested on the test term."""

    def set_to(day, hh=8, mm=50):
        moment = timezone.make_aware(datetime.combine(day, time(hh, mm)))
        monkeypatch.setattr("registers.policy.clock", lambda: timezone.localtime(moment))
        return moment

    return set_to
