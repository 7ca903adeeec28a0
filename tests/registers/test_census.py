"""Census attendance figures, one term in arrears, and the reconciliation (issue 16)."""

from datetime import date

import pytest

from registers import census
from registers.exports import stats_rows
from registers.models import Mark


def test_census_periods_are_one_term_in_arrears():
    assert census.census_period("spring", 2026) == (date(2025, 8, 1), date(2025, 12, 31))
    assert census.census_period("summer", 2026) == (date(2026, 1, 1), date(2026, 4, 5))  # Easter
    assert census.census_period("autumn", 2026) == (date(2026, 4, 6), date(2026, 7, 31))
    with pytest.raises(ValueError):
        census.census_period("winter", 2026)
    assert census.census_preparing(date(2026, 11, 30)) == ("spring", 2027)
    assert census.census_preparing(date(2026, 1, 10)) == ("spring", 2026)
    assert census.census_preparing(date(2026, 3, 2)) == ("summer", 2026)
    assert census.census_preparing(date(2026, 9, 20)) == ("autumn", 2026)


@pytest.fixture
def marked(calendar, make_pupil):
    a, b = make_pupil(), make_pupil()
    rows = [(a, date(2025, 9, 2), "AM", "/"), (a, date(2025, 9, 2), "PM", "I"),
            (a, date(2025, 12, 19), "AM", "G"), (a, date(2025, 12, 19), "PM", "Y7"),
            (a, date(2026, 1, 5), "AM", "O"),  # spring term: not in the spring census
            (b, date(2025, 10, 1), "AM", "M"), (b, date(2025, 10, 1), "PM", "C1"),
            (b, date(2025, 10, 2), "AM", "L")]
    Mark.objects.bulk_create(Mark(pupil=p, date=d, session=s, code=c) for p, d, s, c in rows)
    return a, b


def test_census_figures_agree_with_export_stats_for_the_same_term(marked):
    a, b = marked
    rows = {r.upn: r for r in census.census_rows("spring", 2026)}
    assert (rows[a.upn].possible, rows[a.upn].authorised, rows[a.upn].unauthorised) == (3, 1, 1)
    assert rows[a.upn].reasons == {"I": 1, "G": 1}
    assert rows[b.upn].reasons == {"M": 1, "C1": 1}
    stats = {r["upn"]: r for r in stats_rows(date_from=date(2025, 8, 1),
                                             date_to=date(2025, 12, 31))}
    for upn, r in rows.items():
        assert (r.possible, r.authorised, r.unauthorised) == \
            (stats[upn]["possible"], stats[upn]["authorised"], stats[upn]["unauthorised"])


def test_census_csv_and_xml(marked):
    a, _ = marked
    rows = census.census_rows("spring", 2026)
    text = census.census_csv(rows)
    header, *lines = text.splitlines()
    assert header.startswith("upn,sessions_possible,sessions_authorised,sessions_unauthorised,")
    line = next(line for line in lines if line.startswith(a.upn)).split(",")
    cols = header.split(",")
    assert line[cols.index("absence_I")] == "1" and line[cols.index("absence_G")] == "1"
    xml = census.census_xml(rows, "spring", 2026).decode()
    assert 'PeriodStart="2025-08-01"' in xml and f"<UPN>{a.upn}</UPN>" in xml
    assert "<AttendanceReason>G</AttendanceReason>" in xml


def test_reconciliation_lists_pupils_whose_figures_changed_since_taken(marked, people):
    a, b = marked
    assert census.census_changes("spring", 2026) == (None, [])
    census.census_take("spring", 2026, user=people["office"])
    last, changes = census.census_changes("spring", 2026)
    assert last is not None and changes == []
    Mark.objects.filter(pupil=a, date=date(2025, 9, 2), session="PM").update(code="O")
    _, changes = census.census_changes("spring", 2026)
    assert [c.upn for c in changes] == [a.upn]
    assert changes[0].before == [3, 1, 1, {"G": 1, "I": 1}]
    assert changes[0].after == [3, 0, 2, {"G": 1, "O": 1}]


def test_census_page_downloads_records_and_reconciles(marked, people, client_as):
    a, _ = marked
    client = client_as(people["office"])
    page = client.get("/transfers/census/?census=spring&year=2026").content.decode()
    assert "2 pupils · 6 possible sessions · 3 authorised · 1 unauthorised" in page
    assert "have not been recorded as sent yet" in page
    csv_response = client.get("/transfers/census/?census=spring&year=2026&format=csv")
    assert csv_response["Content-Disposition"] == 'attachment; filename="census_spring_2026.csv"'
    assert a.upn in csv_response.content.decode()
    xml = client.get("/transfers/census/?census=spring&year=2026&format=xml")
    assert b"<TermlyAttendance" in xml.content
    client.post("/transfers/census/", {"census": "spring", "year": "2026"})
    Mark.objects.filter(pupil=a, date=date(2025, 9, 2), session="PM").update(code="O")
    page = client.get("/transfers/census/?census=spring&year=2026").content.decode()
    assert "1 pupil changed since" in page and a.upn in page
    assert "3, 1, 1, G 1; I 1" in page and "3, 0, 2, G 1; O 1" in page
    # Nonsense parameters fall back to the census being prepared, never an error.
    assert client.get("/transfers/census/?census=x&year=abc").status_code == 200
