"""The register's rows built in Python are the template's rows, byte for byte, escaping
included (registers.register_html replaced this fragment of templates/registers/register.html)."""

from pathlib import Path
from types import SimpleNamespace

import pytest
from django.template import engines

from registers.arrangements import Planned
from registers.register_html import rows_html
from registers.services import Conflict
from tenants.roles import Role
from tests.factories import AbsenceReportFactory, MarkFactory, PupilFactory

# The rows as templates/registers/register.html rendered them until issue 18.5.
TEMPLATE_ROWS = (Path(__file__).parent / "register_rows_before_18_5.html").read_text().rstrip("\n")
NASTY = "<b>O'Neil & \"Sons\"</b>"


def template_rows(rows, errors, roles) -> str:
    return engines["django"].from_string(TEMPLATE_ROWS).render(
        {"rows": rows, "errors": errors, "request": SimpleNamespace(roles=roles)})


def row(pupil, **kw) -> dict:
    out = {"pupil": pupil, "mark": None, "report": None, "planned": None, "conflict": None,
           "base": "", "writable": True, "proposed": "", "code": "", "minutes": "", "reason": ""}
    return {**out, **kw}


@pytest.fixture
def rows(school_a, settings):
    settings.USE_THOUSAND_SEPARATOR = True  # the rows print numbers plain all the same
    plain = PupilFactory.build(pk=7, legal_forename="Ann", legal_surname="Lee")
    nasty = PupilFactory.build(pk=1234, legal_forename=NASTY, legal_surname="'Ó Brien",
                               preferred_surname="&amp;", pupil_premium=True,
                               child_protection=True, medical_notes="x")
    photo = PupilFactory.build(pk=12345, legal_forename="", legal_surname="Z",
                               photo="photos/a b&\"c'.jpg", eal=True)
    mark = MarkFactory.build(pupil=plain, code="L", minutes_late=12)
    unmarked = MarkFactory.build(pupil=nasty, code="", minutes_late=None)
    report = AbsenceReportFactory.build(pupil=nasty, details=NASTY)
    no_details = AbsenceReportFactory.build(pupil=photo, details=None, reason="medical")
    return [
        row(plain),
        row(plain, mark=mark, base="L:12", code="L", minutes=12, writable=False),
        row(nasty, mark=unmarked, report=report, proposed="I", code="I", base=NASTY,
            minutes=NASTY, reason=NASTY),
        row(nasty, planned=Planned("C2", NASTY, overrun=True), proposed="C2", code="C2"),
        row(photo, report=no_details, planned=Planned("X", "Pattern"), proposed="M", code="M",
            conflict=Conflict(pupil=photo, yours="N", theirs="", by=NASTY, at=None)),
        row(photo, conflict=Conflict(pupil=photo, yours=NASTY, theirs="<I>", by="B", at=None),
            code=NASTY, writable=False),
    ]


@pytest.mark.parametrize("roles", [frozenset({Role.TEACHER}), frozenset({Role.HEAD}), frozenset()])
@pytest.mark.parametrize("errors", [{}, {1234: NASTY, 12345: "no", "date": "x", "7": "str key"}])
def test_rows_are_the_templates_rows(rows, errors, roles):
    assert str(rows_html(rows, errors=errors, roles=roles)) == template_rows(rows, errors, roles)


def test_no_pupils_is_the_templates_message():
    assert str(rows_html([], errors={}, roles=frozenset())) == template_rows([], {}, frozenset())
