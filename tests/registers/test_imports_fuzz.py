"""Issue 11.4, property-based: whatever the input, no exception escapes and nothing is half-saved.

Hypothesis generates CSV files (well-formed and not, in the encodings Excel saves, with NULs,
over-long cells, wrong column counts, real UPNs and dates mixed with junk) for every import,
and form posts for the register, amendment, off-roll and calendar forms. An import either
succeeds or raises ImportRejected leaving the school's tables exactly as they were; a form
either saves or answers with a message (or a 400) having changed nothing.
"""

import csv
import hashlib
import io
from datetime import date

import pytest
from django.contrib.messages import ERROR, get_messages
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from registers import imports
from registers.models import (
    CalendarEntry,
    Contact,
    Mark,
    MarkAmendment,
    Pupil,
    PupilHistory,
    RegistrationGroup,
    SchoolDay,
)
from tests.conftest import client_for
from tests.factories import MarkFactory

FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])
MODELS = (Pupil, Contact, Mark, MarkAmendment, PupilHistory, CalendarEntry, SchoolDay,
          RegistrationGroup)


def fingerprint() -> str:
    h = hashlib.sha256()
    for model in MODELS:
        h.update(repr(list(model.objects.order_by("pk").values_list())).encode())
    return h.hexdigest()


@pytest.fixture
def school(calendar, make_pupil):
    pupils = [make_pupil(admission=date(2025, 9, 1)),
              make_pupil(admission=date(2025, 9, 1), leaving=date(2025, 10, 10))]
    MarkFactory(pupil=pupils[0], date=date(2025, 9, 2), session="AM", code="/")
    return pupils


def cells(real: list[str]):
    """Cell values: real ones (so some files import) mixed with every kind of junk."""
    return st.one_of(
        st.sampled_from(real),
        st.text(max_size=12),
        st.text(alphabet=st.characters(codec="utf-8"), min_size=90, max_size=400),
        st.sampled_from(["", " ", "\x00", "a\x00b", '"', "\r", "\n", "Y", "N", "R", "Y4",
                         "Reception", "-1", "9" * 25, "2025-02-30", "1.5", "Zoë", "“quoted”"]),
    )


def csv_bytes(draw, columns: list[str], real: list[str]) -> bytes | str:
    header = draw(st.lists(st.sampled_from(columns), min_size=1, max_size=len(columns) + 1,
                           unique=draw(st.booleans()))) if draw(st.booleans()) else columns
    rows = draw(st.lists(st.lists(cells(real), min_size=max(0, len(header) - 1),
                                  max_size=len(header) + 1), max_size=6))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    text = out.getvalue()
    how = draw(st.sampled_from(["str", "utf-8", "utf-8-sig", "utf-16", "cp1252", "raw"]))
    if how == "str":
        return text
    if how == "raw":
        return draw(st.binary(max_size=300)) if draw(st.booleans()) else \
            text.encode("utf-8")[: draw(st.integers(0, len(text)))] + draw(st.binary(max_size=8))
    return text.encode(how, errors="replace")


def check_import(func, data, **kw):
    before = fingerprint()
    try:
        func(data, **kw)
    except imports.ImportRejected as exc:
        event("rejected")
        assert exc.total >= 1 and all(e.line >= 1 and e.field for e in exc.errors)
        assert fingerprint() == before, "a rejected import changed data"
    else:
        event("imported")


def real_values(pupils) -> list[str]:
    return [p.upn for p in pupils] + ["2025-09-02", "2025-09-03", "2025-10-20", "2018-01-01",
                                      "AM", "PM", "/", "\\", "N", "I", "L", "5", "F", "M", "3",
                                      "3B", "term", "closure", "1", "2", "moved_away"]


@FUZZ
@given(data=st.data())
def test_import_pupils_fuzz(school, data):
    cols = imports.PUPIL_REQUIRED + imports.PUPIL_OPTIONAL
    check_import(imports.import_pupils, data.draw(st.composite(
        lambda d: csv_bytes(d, cols, real_values(school)))()))


@FUZZ
@given(data=st.data())
def test_import_contacts_fuzz(school, data):
    cols = imports.CONTACT_REQUIRED + imports.CONTACT_OPTIONAL
    check_import(imports.import_contacts, data.draw(st.composite(
        lambda d: csv_bytes(d, cols, real_values(school) + ["a@b.org", "Mum"]))()))


@FUZZ
@given(data=st.data())
def test_import_marks_fuzz(school, data):
    cols = ["upn", "date", "session", "code", "minutes_late"]
    check_import(imports.import_marks, data.draw(st.composite(
        lambda d: csv_bytes(d, cols, real_values(school)))()), history=data.draw(st.booleans()))


@FUZZ
@given(data=st.data())
def test_import_calendar_fuzz(school, data):
    cols = ["kind", "start_date", "end_date", "label"]
    check_import(imports.import_calendar, data.draw(st.composite(
        lambda d: csv_bytes(d, cols, real_values(school)))()))


# --- forms, through their views -------------------------------------------------------------

def values():
    return st.one_of(st.text(max_size=20), st.text(min_size=200, max_size=600),
                     st.sampled_from(["", "\x00", "2025-09-02", "2025-09-06", "2025-13-01",
                                      "AM", "PM", "XX", "/", "I", "L", "U", "N", "-5", "301",
                                      "9" * 25, "1.5", "other_school", "term", "closure"]))


def post_checked(client, url, data) -> int:
    """POST; never a 500, and a refused post changes nothing. Returns the status code."""
    before = fingerprint()
    response = client.post(url, data)
    assert response.status_code < 500
    refused = response.status_code == 400 or any(
        m.level == ERROR for m in get_messages(response.wsgi_request))
    event("refused" if refused else "accepted")
    if refused:
        assert fingerprint() == before, f"a refused post to {url} changed data"
    return response.status_code


@pytest.fixture
def office(people):
    return client_for(people["office"])


@FUZZ
@given(data=st.data())
def test_amend_form_fuzz(school, office, data):
    pupil = school[0]
    assert post_checked(office, f"/pupils/{pupil.pk}/amend/", data.draw(st.fixed_dictionaries(
        {"day": values(), "session": values(), "code": values(), "minutes_late": values(),
         "reason": values()}))) < 500


@FUZZ
@given(data=st.data())
def test_off_roll_form_fuzz(school, office, data):
    pupil = data.draw(st.sampled_from(school))
    assert post_checked(office, f"/pupils/{pupil.pk}/leave/", data.draw(st.fixed_dictionaries(
        {"leaving_date": values(), "ground": values()}))) < 500


@FUZZ
@given(data=st.data())
def test_calendar_form_fuzz(school, office, data):
    assert post_checked(office, "/calendar/", data.draw(st.fixed_dictionaries(
        {"kind": values(), "start_date": values(), "end_date": values(), "label": values()}))) < 500


@FUZZ
@given(data=st.data())
def test_register_form_fuzz(school, office, data):
    group = school[0].registration_group
    fields = {}
    for p in school:
        fields |= {f"code-{p.pk}": values(), f"minutes-{p.pk}": values(),
                   f"reason-{p.pk}": values()}
    body = data.draw(st.fixed_dictionaries(fields, optional={"all_present": st.just("on")}))
    assert post_checked(office, f"/register/{group.pk}/2025-09-03/AM/", body) < 500


@FUZZ
@given(q=values(), group=values(), year=values())
def test_search_and_filters_fuzz(school, people, q, group, year):
    assert client_for(people["office"]).get("/pupils/", {"q": q, "group": group}).status_code \
        in (200, 400)
    assert client_for(people["attendance_officer"]).get(
        "/escalation/", {"year": year, "class": group, "stage": q}).status_code in (200, 400)
