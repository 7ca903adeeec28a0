"""Disclosure control (registers.disclosure): the rules table by table, then the pages.

Figures-only viewers (governors; trust directors who are not staff of the school) see
aggregates only: fewer than 5 pupils is "fewer than 5", rates on it are "suppressed", and a
second cell goes when a total would give the first away.
"""

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook

from dashboards import figures as dashboard
from dashboards.views import Cell, Table, pct_cell, protect
from registers import disclosure
from registers.models import Mark, Pupil
from registers.selectors import Stats
from tests.conftest import client_for, make_upn
from tests.dashboards.conftest import AS_OF, DAYS
from tests.factories import PupilFactory, RegistrationGroupFactory

F, S = disclosure.FEWER, disclosure.SUPPRESSED
Q = f"from={DAYS[0]}&to={AS_OF}"


# --- the rules -----------------------------------------------------------------------------------

@pytest.mark.parametrize("n, hidden", [(0, True), (1, True), (4, True), (5, False), (6, False),
                                       (None, False)])
def test_small_is_fewer_than_five_zero_included(n, hidden):
    assert disclosure.small(n) is hidden


@pytest.mark.parametrize("n, hidden", [(0, False), (1, True), (4, True), (5, False)])
def test_a_complement_reveals_only_when_one_to_four(n, hidden):
    assert disclosure.reveals(n) is hidden


@pytest.mark.parametrize("values, primary, expected", [
    # exactly 5 is shown; nothing hidden means nothing more to hide
    ([5, 30, 12], None, [False, False, False]),
    # 4 is hidden, and the next-smallest (12) with it: total − the others would give 4
    ([4, 30, 12], None, [True, False, True]),
    # zero is fewer than 5
    ([0, 30, 12], None, [True, False, True]),
    # two cells under 5: each already hides the other, no third
    ([3, 30, 2, 12], None, [True, False, True, False]),
    # the next-smallest is the smallest shown cell, ties broken by position
    ([2, 9, 9, 40], None, [True, True, False, False]),
    # a row hidden for another reason (its group is small) counts as the one hidden cell
    ([25, 30, 12], [True, False, False], [True, False, True]),
    # a cell with no figure (None) is never the one picked
    ([3, None, 7], None, [True, False, True]),
    # only one cell: nothing else can be hidden (the caller hides the total)
    ([3], None, [True]),
])
def test_primary_and_secondary_suppression(values, primary, expected):
    assert disclosure.hidden_cells(values, primary) == expected


def test_no_secondary_suppression_when_the_total_is_not_shown():
    assert disclosure.hidden_cells([4, 30, 12], total_shown=False) == [True, False, False]


@pytest.mark.parametrize("values, groups, expected", [
    # class 3S (3) hidden: the other class of Year 3 goes, not Year 4's smaller class
    ([30, 3, 20], ["Y3", "Y3", "Y4"], [True, True, False]),
    # nothing small: nothing hidden
    ([30, 25, 20], ["Y3", "Y3", "Y4"], [False, False, False]),
    # one small class in each of two year groups: each takes its own neighbour
    ([30, 3, 20, 2, 9], ["Y3", "Y3", "Y4", "Y4", "Y4"], [True, True, False, True, True]),
])
def test_secondary_suppression_within_groups(values, groups, expected):
    assert disclosure.hidden_cells_grouped(values, None, groups) == expected


@pytest.mark.parametrize("part, whole, hidden", [
    (5, 30, False), (4, 30, True), (26, 30, True), (25, 30, False), (0, 30, True), (30, 30, True),
])
def test_a_group_and_the_rest_are_hidden_together(part, whole, hidden):
    assert disclosure.pair_hidden(part, whole) is hidden


def fig(pupils, pa=10, sa=6, broken=7):
    return dashboard.Figures(stats=Stats(possible=100, present=90, authorised=10),
                             pupils=pupils, counted=pupils, pa=pa, sa=sa, pupils_broken=broken)


@pytest.mark.parametrize("f, kw, expected", [
    (fig(5), {}, set()),
    (fig(4, 1, 0, 1), {}, disclosure.ALL_FIGURES),
    (fig(30, pa=4), {}, {"pa", "pa_pct"}),
    (fig(30, sa=0), {}, {"sa", "sa_pct"}),
    (fig(30, broken=2), {}, {"pupils_broken", "broken_weeks"}),
    # a group whose rest is 1-4 pupils: the rest would be the whole minus the group
    (fig(27), {"whole": fig(30, pa=20, sa=10, broken=20)}, disclosure.ALL_FIGURES),
    # PA of the rest is 3: hidden on both sides
    (fig(20, pa=7), {"whole": fig(60, pa=10, sa=12, broken=20)}, {"pa", "pa_pct"}),
    # all pupils beside compulsory school age: 2 pupils outside it are given away
    (fig(32), {"complement_of": fig(30)}, disclosure.ALL_FIGURES),
    # ... but none outside it tells nothing new
    (fig(30, pa=10, sa=6, broken=7), {"complement_of": fig(30, pa=10, sa=6, broken=7)},
     {"pa", "pa_pct", "sa", "sa_pct", "pupils_broken", "broken_weeks"}),
])
def test_figures_hidden(f, kw, expected):
    assert set(disclosure.figures_hidden(f, **kw)) == set(expected)


@pytest.mark.parametrize("parts, whole, expected", [
    # girls 14 and boys 14 of 30: 2 pupils of unknown gender would be given away
    ([fig(14), fig(14)], fig(30, pa=20, sa=12, broken=14), disclosure.ALL_FIGURES),
    # 28 of 28: nothing is left over
    ([fig(14), fig(14)], fig(28, pa=20, sa=12, broken=14), set()),
    # 10 left over, PA 20 - 10 - 10 = 0 of them: their PA count is under 5
    ([fig(15), fig(15)], fig(40, pa=20, sa=20, broken=14), {"pa", "pa_pct"}),
    ([fig(15), fig(15)], fig(40, pa=25, sa=17, broken=14), set()),
])
def test_a_remainder_left_by_groups_side_by_side(parts, whole, expected):
    assert set(disclosure.remainder_hidden(parts, whole)) == set(expected)


def test_shown_reads_hidden_figures_as_text():
    f = fig(30, pa=3)
    shown = disclosure.Shown(f, disclosure.figures_hidden(f))
    assert shown.pa == F and shown.pa_pct == S and shown.sa == 6 and shown.pupils == 30
    small = disclosure.Shown(fig(2, 1, 0, 0), disclosure.ALL_FIGURES)
    assert small.pupils == F and small.stats.attendance_pct == S


def test_protect_a_breakdown_table():
    """Rows split a total: a class of 3 loses its figures, the next-smallest class its count;
    a PA count of 4 goes with its rate, plus the next-smallest PA count and its rate."""
    t = Table("classes", "Classes", ["Class", "Pupils", "Attendance", "PA pupils", "PA rate"])
    for name, pupils, att, pa in (("3A", 28, 95.123, 9), ("3B", 3, 80.0, 2), ("4A", 26, 93.456, 4),
                                  ("4B", 30, 96.0, 12)):
        t.rows.append([Cell(name), Cell(pupils), pct_cell(att), Cell(pa), pct_cell(pa * 100 / pupils)])
    protect(t, population=1, counts={1: (), 3: (4,)})
    got = {r[0].value: [c.value for c in r[1:]] for r in t.rows}
    assert got["3B"] == [F, S, F, S]                        # the small class: nothing
    assert got["4A"][0] == S and got["4A"][2:] == [F, S]    # next-smallest count; PA 4
    assert got["3A"] == [28, 95.1, 9, round(9 * 100 / 28, 1)]  # rounded for exports
    assert got["4B"] == [30, 96.0, 12, 40.0]


def test_protect_hides_the_total_when_nothing_else_can_be():
    t = Table("schools", "Schools", ["School", "SA pupils"])
    t.rows.append([Cell("Only school"), Cell(3)])
    t.foot.append([Cell("Trust total"), Cell(3)])
    protect(t, counts={1: ()})
    assert t.rows[0][1].value == F and t.foot[0][1].value == F


def test_protect_a_small_total_in_the_foot():
    t = Table("schools", "Schools", ["School", "SA pupils"])
    t.rows += [[Cell("A"), Cell(0)], [Cell("B"), Cell(2)]]
    t.foot.append([Cell("Trust total"), Cell(2)])
    protect(t, counts={1: ()})
    assert [r[1].value for r in t.rows + t.foot] == [F, F, F]


# --- the pages -----------------------------------------------------------------------------------

@pytest.fixture
def small_school(calendar):
    """Class 6A of 30 (all present), class 6S of 3, two EAL pupils in 6A, one LAC pupil."""
    big = RegistrationGroupFactory(name="6A", year_group=6)
    tiny = RegistrationGroupFactory(name="6S", year_group=6)
    pupils = []
    for i in range(33):
        g = big if i < 30 else tiny
        pupils.append(PupilFactory(
            upn=make_upn(estab=4100, serial=i), legal_surname=f"Name{i:02d}",
            legal_forename=f"Child{i:02d}", date_of_birth=date(2014, 10, 1), gender="F",
            year_group=6, registration_group=g, admission_date=date(2020, 9, 1),
            eal=i in (3, 4), lac=i == 5))
    marks = []
    for i, p in enumerate(pupils):
        for d in DAYS:
            for s in ("AM", "PM"):
                absent = i in (31, 32) and d.day % 2 == 0   # two of class 6S: PA
                marks.append(Mark(pupil=p, date=d, session=s,
                                  code="O" if absent else ("/" if s == "AM" else "\\")))
    Mark.objects.bulk_create(marks)
    return pupils


def _csv(client, table):
    r = client.get(f"/dashboard/export/{table}.csv?{Q}")
    assert r.status_code == 200, table
    return {row[0]: row[1:] for row in csv.reader(io.StringIO(r.content.decode()))}


def test_governor_exports_suppress_small_classes_and_groups(small_school, people):
    gov, head = client_for(people["governor"]), client_for(people["head"])
    classes = _csv(gov, "classes")
    assert classes["6S"][0] == F and all(v in (F, S) for v in classes["6S"][1:-1])
    assert classes["6A"][0] == S  # 33 − 3: the big class's count goes too
    assert _csv(head, "classes")["6S"][0] == "3" and _csv(head, "classes")["6A"][0] == "30"
    groups = _csv(gov, "pupil_groups")
    assert groups["EAL"][:4] == [F, S, S, S]  # 2 pupils: no figures, nor for the rest
    assert "Looked after (LAC)" not in groups
    assert "Looked after (LAC)" in _csv(head, "pupil_groups")
    headline = _csv(gov, "headline")
    assert headline["Pupils on roll"][0] == "33"
    assert headline["Persistent absence (PA, ≥10%)"][0] == F  # 2 PA pupils
    assert headline["Severe absence (SA, ≥50%)"][0] == F      # and 0 SA
    # Rates rounded to one decimal place for governors, unrounded for staff.
    att = headline["Attendance"][0]
    assert att == f"{float(att):.1f}" and len(_csv(head, "headline")["Attendance"][0]) > 6
    # Today's registers (class by class counts) are staff only.
    assert gov.get(f"/dashboard/export/today.csv?{Q}").status_code == 404


def test_governor_code_table_hides_codes_of_fewer_than_five_pupils(small_school, people):
    """O is used by the two absent pupils of 6S only: its row goes, and the sessions of the
    next-smallest code with it (the possible sessions minus the others would give O away)."""
    gov = _csv(client_for(people["governor"]), "codes")
    assert gov["O"][2:] == [F, S, S]          # pupils, sessions, % of possible
    assert gov["/"][2] == gov["\\"][2] == "33"
    assert [gov["/"][3], gov["\\"][3]].count(S) == 1   # the secondary cell
    head = _csv(client_for(people["head"]), "codes")
    assert "Pupils" not in head["Code"] and head["O"][2] == str(Mark.objects.filter(code="O").count())


def test_governor_xlsx_holds_the_same_suppressed_cells(small_school, people):
    x = client_for(people["governor"]).get(f"/dashboard/export/classes.xlsx?{Q}")
    ws = load_workbook(io.BytesIO(x.content)).active
    rows = {r[0]: r[1:] for r in ws.iter_rows(values_only=True)}
    assert rows["6S"][0] == F and rows["6A"][0] == S


def test_governor_page_shows_fewer_than_five_and_no_names(small_school, people):
    page = client_for(people["governor"]).get(f"/dashboard/?{Q}").content.decode()
    assert 'data-figure="pa-csa">PA: fewer than 5 pupils' in page
    assert "data-disclosure" in page and "Name0" not in page and "Child0" not in page
    assert "/dashboard/pupils/" not in page and "/dashboard/today/" not in page
    head = client_for(people["head"]).get(f"/dashboard/?{Q}").content.decode()
    assert "PA: 2 pupils</a>" in head


def test_governor_qa_report_suppresses_small_groups(small_school, people):
    page = client_for(people["governor"]).get(f"/dashboard/qa/?{Q}").content.decode()
    assert "fewer than 5 pupils persistently absent" in page
    head = client_for(people["head"]).get(f"/dashboard/qa/?{Q}").content.decode()
    assert "2 pupils persistently absent" in head


def test_trust_dashboard_suppresses_small_counts(small_school, people, school_a):
    client = client_for(people["trust_director"], host="localhost")
    url = f"/trust/{school_a.trust.slug}/?{Q}&format=csv"
    rows = list(csv.DictReader(io.StringIO(client.get(url).content.decode())))
    a = next(r for r in rows if r["School"] == "Test School A")
    assert a["PA pupils"] == F and a["PA rate"] == S and a["SA pupils"] == F
    assert a["Attendance (CSA)"] == f"{float(a['Attendance (CSA)']):.1f}"
    total = next(r for r in rows if r["School"] == "Trust total")
    assert total["PA pupils"] == F  # school B has none: the total would give A's away
    assert client.get(f"/trust/{school_a.trust.slug}/?{Q}&lac=1").status_code == 403
    assert client.get(f"/trust/{school_a.trust.slug}/?{Q}&year_group=6").status_code == 403


def test_a_trust_director_who_is_head_here_reads_pupil_lists(small_school, people, school_a):
    from tenants.roles import Role
    from tenants.services import person_grant

    director = people["trust_director"]
    person_grant(username=director.username, role=Role.HEAD, school=school_a)
    client = client_for(director)
    assert client.get(f"/dashboard/pupils/?{Q}&lac=1").status_code == 200
    assert _csv(client, "classes")["6S"][0] == "3"


@pytest.fixture
def nested_school(calendar):
    """Year 3: 3A (30) and 3S (3); Year 4: 4A (20) alone; Year 5: 5A (3) alone."""
    pupils, n = [], 0
    for name, yg, size in (("3A", 3, 30), ("3S", 3, 3), ("4A", 4, 20), ("5A", 5, 3)):
        g = RegistrationGroupFactory(name=name, year_group=yg)
        for _ in range(size):
            pupils.append(PupilFactory(
                upn=make_upn(estab=4200, serial=n), legal_surname=f"Nest{n:02d}",
                legal_forename="Kid", date_of_birth=date(2025 - 5 - yg, 10, 1), gender="M",
                year_group=yg, registration_group=g, admission_date=date(2020, 9, 1)))
            n += 1
    Mark.objects.bulk_create([Mark(pupil=p, date=d, session=s, code="/" if s == "AM" else "\\")
                              for p in pupils for d in DAYS[:5] for s in ("AM", "PM")])
    return pupils


def test_classes_are_suppressed_within_their_year_group(nested_school, people):
    gov = client_for(people["governor"])
    years, classes = _csv(gov, "year_groups"), _csv(gov, "classes")
    assert years["Year 3"][0] == "33" and years["Year 5"][0] == F
    assert years["Year 4"][0] == S            # secondary for Year 5 (the next-smallest)
    assert classes["3S"][0] == F and classes["3A"][0] == S   # within Year 3, not 4A
    assert classes["5A"][0] == F
    assert classes["4A"][0] == S              # Year 4's only class follows its hidden row
    head = _csv(client_for(people["head"]), "classes")
    assert [head[k][0] for k in ("3A", "3S", "4A", "5A")] == ["30", "3", "20", "3"]


@pytest.mark.parametrize("who", ["governor", "trust_director"])
def test_an_empty_school_is_all_suppressed_and_never_a_500(calendar, people, who):
    client = client_for(people[who])
    page = client.get(f"/dashboard/?{Q}")
    assert page.status_code == 200 and "PA: fewer than 5 pupils" in page.content.decode()
    for table in ("headline", "bands", "year_groups", "classes", "pupil_groups", "codes",
                  "weekdays", "sessions", "weekly", "trophy"):
        assert client.get(f"/dashboard/export/{table}.xlsx?{Q}").status_code == 200, table
    assert _csv(client, "headline")["Pupils on roll"] == [F, F]
    assert client.get(f"/dashboard/qa/?{Q}").status_code == 200


def test_ethnicity_breakdown_for_staff_and_suppressed_for_governors(small_school, people):
    """Issue 19 item 6: "ethnicity (the DfE's census categories) ... as dashboard breakdowns for
    staff roles (never for governors below the disclosure threshold)"."""
    for i, p in enumerate(small_school):
        p.ethnicity = "WBRI" if i < 22 else "APKN" if i < 29 else "CHNE"  # 22, 7, 4 (2 of them PA)
    Pupil.objects.bulk_update(small_school, ["ethnicity"])
    Pupil.objects.filter(pk=small_school[0].pk).update(ethnicity="")      # one not recorded
    head = _csv(client_for(people["head"]), "ethnicity")
    assert head["White – British (WBRI)"][0] == "21" and head["Not recorded"][0] == "1"
    assert head["Pakistani (APKN)"][0] == "7"
    assert head["Chinese (CHNE)"][0] == "4" and head["Chinese (CHNE)"][5] == "2"  # PA pupils
    gov = _csv(client_for(people["governor"]), "ethnicity")
    assert gov["Chinese (CHNE)"][:6] == [F, S, S, S, S, F]   # 4 pupils: no figures at all
    assert gov["Not recorded"][0] == F
    assert gov["White – British (WBRI)"][0] == "21"
    assert gov["Pakistani (APKN)"][0] == "7"  # two cells hidden already: no secondary needed
    page = client_for(people["governor"]).get(f"/dashboard/?{Q}").content.decode()
    assert "Ethnicity (DfE census categories)" in page and "ethnicity=" not in page
    staff_page = client_for(people["head"]).get(f"/dashboard/?{Q}").content.decode()
    assert "ethnicity=CHNE" in staff_page
    # A drill-down by ethnicity is a filter: refused to governors, a list for staff.
    drill = f"/dashboard/pupils/?{Q}&ethnicity=CHNE"
    assert client_for(people["governor"]).get(drill).status_code in (403, 404)
    assert client_for(people["head"]).get(drill).status_code == 200


def test_ethnicity_secondary_suppression_for_governors(small_school, people):
    for i, p in enumerate(small_school):
        p.ethnicity = "WBRI" if i < 22 else "APKN" if i < 29 else "CHNE"  # 22, 7, 4
    Pupil.objects.bulk_update(small_school, ["ethnicity"])
    gov = _csv(client_for(people["governor"]), "ethnicity")
    # Only Chinese is under 5: 33 − 22 − 7 would give it away, so the next-smallest goes too.
    assert gov["Chinese (CHNE)"][0] == F and gov["Pakistani (APKN)"][0] == S
    assert gov["White – British (WBRI)"][0] == "22"
