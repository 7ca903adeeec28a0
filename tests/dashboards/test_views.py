"""Dashboard pages: access by role and school, governors' view, exports, query counts, QA."""

import csv
import io
import re
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from dashboards import figures as dashboard
from registers import selectors
from registers.models import Mark, Pupil, RegistrationGroup
from registers.services import Entry, marks_save
from tenants.roles import Role
from tenants.services import person_grant
from tests.conftest import client_for
from tests.dashboards.conftest import AS_OF, DAYS
from tests.factories import LetterFactory

Q = f"from={DAYS[0]}&to={AS_OF}"
URLS = {
    "dashboard": f"/dashboard/?{Q}",
    "pupils": f"/dashboard/pupils/?{Q}&measure=pa",
    "today": f"/dashboard/today/?day={DAYS[3]}&state=present",
    "qa": f"/dashboard/qa/?{Q}",
    "export": f"/dashboard/export/headline.csv?{Q}",
}
READERS = {"head", "attendance_officer", "governor", "trust_director"}
# Pupil lists behind the figures: staff who read pupil records, never figures-only viewers.
LIST_READERS = {"head", "attendance_officer"}
LISTS = {"pupils", "today"}


def expected_status(who, page=None):
    if who is None:
        return 302
    if who == "other_school_office":
        return 404
    return 200 if who in (LIST_READERS if page in LISTS else READERS) else 403


@pytest.mark.parametrize("who", ["office", "teacher", "attendance_officer", "head", "governor",
                                 "trust_director", "la_officer", "parent",
                                 "other_school_office", None])
@pytest.mark.parametrize("page", list(URLS))
def test_role_matrix(generated, people, who, page):
    generated(30)
    client = client_for(people[who] if who else None)
    assert client.get(URLS[page]).status_code == expected_status(who, page)


def test_other_school_host_is_404(generated, people, school_b):
    generated(10)
    client = client_for(people["head"], host="b.localhost")
    for url in URLS.values():
        assert client.get(url).status_code == 404


def test_head_lands_on_dashboard(people):
    for who in ("head", "governor", "trust_director"):
        response = client_for(people[who]).get("/")
        assert response.status_code == 302 and response["Location"] == "/dashboard/", who
    assert client_for(people["office"]).get("/")["Location"] == "/office/"


def test_bad_parameters_are_400(people):
    client = client_for(people["head"])
    for q in ("from=2025-13-01", "cohort=everyone", "measure=nope", "code=ZZ",
              "from=2025-10-01&to=2025-09-01", "dow=9"):
        assert client.get(f"/dashboard/pupils/?{q}").status_code == 400, q


def test_pa_figure_links_to_the_list_of_those_pupils(generated, people):
    generated(120)
    client = client_for(people["head"])
    page = client.get(URLS["dashboard"]).content.decode()
    csa = selectors.national_cohort(selectors.pupils_on_roll(DAYS[0], AS_OF), AS_OF)
    per = selectors.stats_by_pupil(pupils=csa, date_from=DAYS[0], date_to=AS_OF)
    n = sum(s.persistent for s in per.values())
    m = re.search(r'<a href="([^"]+)" data-figure="pa-csa">PA: (\d+) pupils?</a>', page)
    assert m and int(m.group(2)) == n
    listing = client.get(m.group(1).replace("&amp;", "&")).content.decode()
    assert f"{n} pupil" in listing
    assert listing.count("/pupils/") - listing.count("/dashboard/pupils/") >= n  # linked rows
    total = selectors.stats_total(pupils=csa, date_from=DAYS[0], date_to=AS_OF)
    assert f'data-figure="attendance-csa">{total.attendance_pct:.1f}%' in page


def test_governor_sees_aggregates_only(generated, people):
    pupils = generated(60)
    gov = client_for(people["governor"])
    page = gov.get(URLS["dashboard"]).content.decode()
    assert "Surname" not in page and "Fore" not in page and "/dashboard/pupils/" not in page
    # No pupil-level list at all, not even anonymised initials, and no pupil records.
    assert gov.get(f"/dashboard/pupils/?{Q}&cohort=all").status_code == 403
    assert gov.get(f"/dashboard/pupils/?{Q}&lac=1").status_code == 403
    assert gov.get(f"/pupils/{pupils[0].pk}/").status_code == 403
    # Staff who read pupil records do see names and flags.
    head = client_for(people["head"]).get(f"/dashboard/pupils/?{Q}&cohort=all").content.decode()
    assert "Surname" in head
    cp = Pupil.objects.filter(child_protection=True).first()
    if cp is not None and Mark.objects.filter(pupil=cp).exists():
        assert "CP" in head


def test_trust_director_sees_figures_only(generated, people):
    generated(60)
    client = client_for(people["trust_director"])
    assert client.get(f"/dashboard/pupils/?{Q}&cohort=all").status_code == 403
    assert client.get(f"/dashboard/pupils/?{Q}&lac=1").status_code == 403
    page = client.get(URLS["dashboard"]).content.decode()
    assert "Surname" not in page and "/dashboard/pupils/" not in page


def test_exports_match_the_page(generated, people):
    generated(80)
    client = client_for(people["head"])
    for table in ("headline", "year_groups", "classes", "pupil_groups", "weekdays", "codes",
                  "bands", "weekly", "today", "trophy", "sessions"):
        r = client.get(f"/dashboard/export/{table}.csv?{Q}")
        assert r.status_code == 200 and r["Content-Type"].startswith("text/csv"), table
        rows = list(csv.reader(io.StringIO(r.content.decode())))
        assert len(rows) >= 2, table
        x = client.get(f"/dashboard/export/{table}.xlsx?{Q}")
        ws = load_workbook(io.BytesIO(x.content)).active
        assert [c.value for c in ws[1]] == rows[0]
        assert ws.max_row == len(rows)
    assert client.get(f"/dashboard/export/nope.csv?{Q}").status_code == 404
    # Unrounded values in exports: the attendance of the CSA cohort equals the selectors.
    rows = list(csv.reader(io.StringIO(client.get(
        f"/dashboard/export/headline.csv?{Q}").content.decode())))
    attendance = next(r for r in rows if r[0] == "Attendance")
    csa = selectors.national_cohort(selectors.pupils_on_roll(DAYS[0], AS_OF), AS_OF)
    want = selectors.stats_total(pupils=csa, date_from=DAYS[0], date_to=AS_OF).attendance_pct
    assert float(attendance[1]) == pytest.approx(want, abs=1e-9)
    listing = client.get(f"/dashboard/pupils/?{Q}&measure=pa&format=xlsx")
    ws = load_workbook(io.BytesIO(listing.content)).active
    assert ws.max_row - 1 == dashboard.rollup(dashboard.Criteria(DAYS[0], AS_OF)).total["csa"].pa


def _count(client, url, *, warm: bool):
    from django.core.cache import caches

    cache = caches["dashboards"]

    client.get(url)  # warm: session, content types (and the figures cache)
    if not warm:
        cache.clear()
    with CaptureQueriesContext(connection) as q:
        assert client.get(url).status_code == 200
    return len(q)


@pytest.mark.parametrize("who", ["head", "governor"])
def test_query_counts_do_not_grow_with_pupils(calendar, people, who):
    from tests.dashboards.conftest import populate

    counts = {}
    for n in (50, 500):
        Mark.objects.all().delete()
        Pupil.objects.all().delete()
        RegistrationGroup.objects.all().delete()
        populate(n, seed=n)
        client = client_for(people[who])
        counts[n] = {name: _count(client, url, warm=False) for name, url in URLS.items()
                     if who in LIST_READERS or name not in LISTS}
        counts[n]["dashboard (cached)"] = _count(client, URLS["dashboard"], warm=True)
    assert counts[50] == counts[500]
    # Pinned. 6 are the framework's (tenant domain, search path, session, user, roles). The
    # dashboard's own: last open day, data version, then (when not cached) bands, rollup,
    # patterns, last year's weeks, today, class of the week and class names. Governors have
    # no pupil lists, and their code table counts pupils per code (data version + one query;
    # the version alone when cached).
    if who in LIST_READERS:
        want = {"dashboard": 15, "dashboard (cached)": 8, "pupils": 10, "today": 7,
                "export": 15, "qa": 15}
    else:
        want = {"dashboard": 17, "dashboard (cached)": 9, "export": 17, "qa": 15}
    assert counts[500] == want, counts


def test_pa_list_queries_do_not_grow_with_pupils(calendar, people):
    """The PA list of 200 and of 1,000 pupils: the same queries, cold (figures recomputed) and
    warm (per-pupil figures from the cache). 7 are the framework's; then bands, data version,
    (when cold) every pupil's figures in one query, and the listed pupils with their classes."""
    from tests.dashboards.conftest import populate

    counts, listed = {}, {}
    for n in (200, 1000):
        Mark.objects.all().delete()
        Pupil.objects.all().delete()
        RegistrationGroup.objects.all().delete()
        populate(n, seed=n, last_year=False)
        client = client_for(people["head"])
        counts[n] = (_count(client, URLS["pupils"], warm=False),
                     _count(client, URLS["pupils"], warm=True))
        page = client.get(URLS["pupils"]).content.decode()
        listed[n] = page.count('<th scope="row" class="fw-normal"><a href="/pupils/')
    assert listed[1000] > 3 * listed[200] > 0, listed  # the list grew, its queries did not
    assert counts[200] == counts[1000] == (10, 9), counts


def test_dashboard_is_current_right_after_a_register_is_saved(generated, people, school_a):
    generated(40)
    client = client_for(people["head"])
    day = DAYS[-1]
    url = f"/dashboard/?from={DAYS[0]}&to={day}"

    def today_present():
        page = client.get(url).content.decode()
        return page
    before = dashboard.today(day)[0]
    Mark.objects.filter(date=day, session="PM").delete()
    pupils = list(Pupil.objects.filter(admission_date__lte=day).exclude(leaving_date__lt=day))
    page = today_present()
    assert f"0/{before.on_roll} ({before.on_roll} missing)" in page
    marks_save(school=school_a, day=day, session="PM", pupils=pupils,
               entries=[Entry(p.pk, "\\") for p in pupils], user=people["office"],
               role=Role.OFFICE.label)
    page = today_present()
    assert f"{before.on_roll}/{before.on_roll}" in page
    # An amendment (a changed mark) and a pupil leaving show at once too.
    pct = re.compile(r'data-figure="attendance-csa">([0-9.]+)%')

    def csa_attendance():
        csa = selectors.national_cohort(selectors.pupils_on_roll(DAYS[0], day), day)
        s = selectors.stats_total(pupils=csa, date_from=DAYS[0], date_to=day)
        return f"{s.attendance_pct:.1f}"
    assert pct.search(today_present()).group(1) == csa_attendance()
    csa_pupils = [p for p in pupils if p.year_group >= 1]
    marks_save(school=school_a, day=day, session="PM", pupils=csa_pupils,
               entries=[Entry(p.pk, "O", None, "truancy") for p in csa_pupils],
               user=people["office"], role=Role.OFFICE.label)
    assert pct.search(today_present()).group(1) == csa_attendance()
    leaver = csa_pupils[0]
    # As if never on roll after: the marks go first (a leaving date may not hide marks).
    Mark.objects.filter(pupil=leaver, date__gt=DAYS[1]).delete()
    Pupil.objects.filter(pk=leaver.pk).update(leaving_date=DAYS[1], deletion_ground="other_school")
    assert pct.search(today_present()).group(1) == csa_attendance()


def test_qa_report_page_and_pdf(generated, people):
    from letters.pdf import pdf_text

    generated(60)
    client = client_for(people["governor"])
    page = client.get(URLS["qa"]).content.decode()
    assert "Summary of findings" in page and "Pupil premium" in page and "EHC plan" in page
    csa = selectors.national_cohort(selectors.pupils_on_roll(DAYS[0], AS_OF), AS_OF)
    want = selectors.stats_total(pupils=csa, date_from=DAYS[0], date_to=AS_OF).attendance_pct
    assert f"<strong>{want:.1f}%</strong>" in page
    pdf = client.get(URLS["qa"] + "&format=pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    text = pdf_text(pdf.content)
    assert "Attendance quality assurance" in text and f"{want:.1f}%" in text


def test_qa_report_letters_impact(generated, people):
    from letters.models import Letter

    pupils = generated(30)
    p = next(x for x in pupils if x.leaving_date is None and x.admission_date < DAYS[0])
    LetterFactory(pupil=p, template_key="letter1", trigger_key="t1", night=DAYS[8],
                  status=Letter.Status.EMAILED)
    LetterFactory(pupil=p, template_key="letter1", trigger_key="t2", night=DAYS[9],
                  status=Letter.Status.QUEUED)  # not sent: not counted
    impact = dashboard.letters_impact(dashboard.Criteria(DAYS[0], AS_OF),
                                      letter_table=Letter._meta.db_table,
                                      statuses=["emailed", "printed"])
    assert impact["total"]["letters"] == 1 and impact["total"]["pupils"] == 1
    before = selectors.stats_total(pupils=Pupil.objects.filter(pk=p.pk),
                                   date_from=date(2025, 8, 1), date_to=DAYS[7])
    assert impact["total"]["before_possible"] == before.possible
    page = client_for(people["head"]).get(URLS["qa"]).content.decode()
    assert "had 1 attendance letter sent" in page


# --- trust dashboard -----------------------------------------------------------------------------

def test_trust_dashboard_access(generated, people, school_a):
    from tenants.models import Trust

    generated(20)
    url = f"/trust/{school_a.trust.slug}/?{Q}"
    assert client_for(people["trust_director"], host="localhost").get(url).status_code == 200
    other = Trust.objects.create(slug="other-trust", name="Other Trust")
    stranger = person_grant(username="other_director", role=Role.TRUST_DIRECTOR, trust=other)
    assert client_for(stranger, host="localhost").get(url).status_code == 404
    assert client_for(stranger, host="localhost").get(
        f"/trust/other-trust/?{Q}").status_code == 200
    assert client_for(people["head"], host="localhost").get(url).status_code == 404
    assert client_for(None, host="localhost").get(url).status_code == 302
    assert client_for(people["trust_director"], host="localhost").get(
        "/trust/no-such-trust/").status_code == 404


def test_trust_dashboard_figures_and_queries(generated, people, school_a, school_b):
    from django.core.cache import caches

    cache = caches["dashboards"]

    generated(80)
    client = client_for(people["trust_director"], host="localhost")
    url = f"/trust/{school_a.trust.slug}/?{Q}"
    connection.set_tenant(school_a)
    roll = dashboard.school_summary(dashboard.Criteria(DAYS[0], AS_OF))
    att = roll.total["csa"].stats.attendance_pct
    client.get(url)
    cache.clear()
    with CaptureQueriesContext(connection) as q:
        page = client.get(url).content.decode()
    with CaptureQueriesContext(connection) as warm:
        assert f"{att:.1f}%" in client.get(url).content.decode()
    assert "Test School A" in page and "Test School B" in page and "Trust total" in page
    assert f"{att:.1f}%" in page
    assert "http://a.localhost/dashboard/" in page  # drill-down to the school's dashboard
    # A constant number of queries per school: session, user, trust, membership, schools,
    # domains, then one summary query per school (plus search-path switches).
    summaries = [x for x in q.captured_queries if "GROUPING SETS" in x["sql"]]
    assert len(summaries) == 2
    assert len(q) == 14 and len(warm) == 13, (len(q), len(warm))
    xlsx = client.get(url + "&format=xlsx")
    ws = load_workbook(io.BytesIO(xlsx.content)).active
    assert ws.max_row == 1 + 2 + 1  # header, two schools, trust total
    compare = client.get(url + "&school=test_a").content.decode()
    assert "Test School A" in compare


def test_head_sets_the_school_and_dfe_targets_shown_on_the_dashboard(generated, people):
    """Issue 16: the school's attendance target beside the DfE's improvement target, which the
    school enters; only the head sets them, and nonsense is refused with a message."""
    from tenants.models import School

    head = client_for(people["head"])
    assert "DfE improvement target" not in head.get("/dashboard/").content.decode()
    refused = head.post("/dashboard/targets/", {"attendance_target": "120", "dfe_improvement_target": ""})
    assert refused.status_code == 200 and "less than or equal to 100" in refused.content.decode()
    saved = head.post("/dashboard/targets/", {"attendance_target": "95.5", "dfe_improvement_target": "94.2"})
    assert saved.status_code == 302 and saved["Location"] == "/dashboard/"
    school = School.objects.get(schema_name=connection.schema_name)
    assert (float(school.attendance_target), float(school.dfe_improvement_target)) == (95.5, 94.2)
    for who in ("head", "governor"):
        page = client_for(people[who]).get("/dashboard/").content.decode()
        assert "School target 95.5%" in page and 'data-figure="dfe-target">94.2%' in page, who
    assert client_for(people["governor"]).post(
        "/dashboard/targets/", {"attendance_target": "50"}).status_code == 403
    head.post("/dashboard/targets/", {"attendance_target": "95.5", "dfe_improvement_target": ""})
    school.refresh_from_db()
    assert school.dfe_improvement_target is None
