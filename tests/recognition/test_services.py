"""Certificates through the letters machinery, prize draws from a stored seed, awards on the
parents' portal (issue 19 item 1)."""

from datetime import date

import pytest

from tests.conftest import client_for
from tests.factories import ContactFactory
from tests.recognition.conftest import mark, school_days

TODAY = date(2025, 12, 19)


@pytest.fixture
def term_list(calendar, make_pupil):
    from recognition import services
    from recognition.models import Rule
    from recognition.selectors import periods, recognition_list

    days = [d for d in school_days(date(2025, 9, 1), 200) if d <= TODAY]
    pupils = []
    for i, name in enumerate(["Amy", "Ben", "Cat"]):
        p = make_pupil(legal_forename=name, legal_surname="Jones", group="4B" if i else "3A")
        mark(p, days, "/")
        pupils.append(p)
    absent = make_pupil(legal_forename="Dan", legal_surname="Jones")
    mark(absent, days, "/")
    absent.marks.filter(date=days[3], session="AM").update(code="O")
    settings = services.settings_get()
    period = next(p for p in periods(TODAY) if p.kind == "term" and p.start == date(2025, 9, 1))
    rule = Rule.objects.get(qualifies=Rule.Qualifies.TERM_100)  # Beecroft's termly certificate
    rows = recognition_list(rule=rule, period=period, today=TODAY, settings=settings)
    return {"rows": rows, "rule": rule, "period": period, "pupils": pupils, "settings": settings,
            "school": calendar}


def test_beecroft_preset_seeds_the_rules_and_certificate(school_a):
    from letters.models import LetterTemplate
    from recognition import presets, services
    from recognition.models import Rule

    s = services.settings_get()
    assert s.preset == "beecroft" and s.fair_alternative == "best_ever"
    assert set(Rule.objects.values_list("qualifies", "gift")) >= {
        ("term_100", "certificate"), ("half_term_100", "prize_draw"), ("year_100", "trophy"),
        ("consecutive_years", "other")}
    assert Rule.objects.get(qualifies="consecutive_years").years == 7
    assert LetterTemplate.objects.get(key=presets.CERTIFICATE_KEY).kind == "document"


def test_certificates_print_as_one_pdf_and_are_recorded(term_list, people):
    from letters.models import Batch, Letter
    from letters.pdf import pdf_text
    from recognition import services
    from recognition.models import Award

    rows = term_list["rows"]
    school_a = term_list["school"]
    school_a.headteacher = "June Turner"
    school_a.save(update_fields=["headteacher"])
    assert [r.pupil.legal_forename for r in rows] == ["Amy", "Ben", "Cat"]  # Dan missed a session
    lead = people["attendance_officer"]
    batch = services.certificates_print(rows=rows, rule=term_list["rule"], period=term_list["period"],
                                        user=lead, today=TODAY)
    assert batch.status == Batch.Status.DONE and not batch.send_email
    assert batch.combined and batch.combined_pages == 3
    text = pdf_text(batch.combined.open("rb").read())
    for name in ("Amy Jones", "Ben Jones", "Cat Jones"):
        assert name in text
    assert "Autumn term 2025-26" in text and "June Turner" in text  # the period, the head's name
    assert "3A" in text and "4B" in text  # the class
    assert Award.objects.filter(gift="certificate", letter__isnull=False).count() == 3
    assert set(Letter.objects.filter(batch=batch).values_list("context__award__period", flat=True)) == {
        "Autumn term 2025-26"}
    # Printing again leaves out the pupils who already have it (one letter per trigger).
    again = services.certificates_print(rows=rows, rule=term_list["rule"], period=term_list["period"],
                                        user=lead, today=TODAY)
    assert again.total == 0 and len(again.report["already_sent"]) == 3
    assert Award.objects.count() == 3


def test_parent_sees_only_their_childs_certificate(term_list, people):
    from recognition import services
    from recognition.models import Award

    services.certificates_print(rows=term_list["rows"], rule=term_list["rule"],
                                period=term_list["period"], user=None, today=TODAY)
    amy, ben = term_list["pupils"][:2]
    parent = people["parent"]
    ContactFactory(pupil=amy, forename="P", surname="Jones", user=parent)
    c = client_for(parent)
    page = c.get("/recognition/children/").content.decode()
    assert "100% attendance" in page and "Autumn term 2025-26" in page and "View certificate" in page
    mine = Award.objects.get(pupil=amy)
    other = Award.objects.get(pupil=ben)
    r = c.get(f"/recognition/awards/{mine.pk}/certificate.pdf")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert c.get(f"/recognition/awards/{other.pk}/certificate.pdf").status_code == 404


def test_prize_draw_is_reproducible_from_its_seed(term_list):
    from recognition import services
    from recognition.models import Award, PrizeDraw

    entrants = list(range(1, 41))
    a = services.draw_winners("seed-1", entrants, 5)
    assert a == services.draw_winners("seed-1", list(reversed(entrants)), 5)  # order does not matter
    assert len(set(a)) == 5 and set(a) <= set(entrants)
    assert services.draw_winners("seed-2", entrants, 5) != a
    assert sorted(services.draw_winners("x", [3, 1, 2], 10)) == [1, 2, 3]  # more prizes than pupils
    # Every entrant equally likely: over many seeds each of 4 pupils wins about a quarter.
    wins = {i: 0 for i in range(4)}
    for s in range(4000):
        wins[services.draw_winners(str(s), list(range(4)), 1)[0]] += 1
    assert all(850 < n < 1150 for n in wins.values())

    draw = services.prize_draw(rows=term_list["rows"], rule=term_list["rule"], period=term_list["period"],
                               wanted=2, today=TODAY)
    draw = PrizeDraw.objects.get(pk=draw.pk)
    assert draw.entrants == sorted(r.pupil.pk for r in term_list["rows"])
    assert draw.winners == services.draw_winners(draw.seed, draw.entrants, 2) and services.draw_check(draw)
    assert set(Award.objects.filter(draw=draw).values_list("pupil_id", flat=True)) == set(draw.winners)


def test_a_draw_cannot_be_rewritten(term_list):
    """Append-only: the app's database role may not change or delete a draw."""
    from django.db import DatabaseError, transaction

    from recognition import services
    from recognition.models import PrizeDraw

    draw = services.prize_draw(rows=term_list["rows"], rule=None, period=term_list["period"],
                               wanted=1, today=TODAY)
    with pytest.raises(DatabaseError), transaction.atomic():
        PrizeDraw.objects.filter(pk=draw.pk).update(winners=[])


def test_lead_prints_from_the_page(term_list, people):
    from letters.models import Batch

    c = client_for(people["attendance_officer"])
    url = f"/recognition/?period={term_list['period'].key}&rule={term_list['rule'].pk}"
    page = c.get(url).content.decode()
    assert "Amy Jones" in page and "Dan Jones" not in page
    r = c.post(url, {"action": "print"})
    batch = Batch.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/letters/batches/{batch.pk}/"
    assert c.get(f"/letters/batches/{batch.pk}/print.pdf").status_code == 200
    r = c.post(url, {"action": "draw", "winners": "1"})
    assert r.status_code == 302 and "/recognition/draws/" in r["Location"]
    assert "repeated: same winners" in c.get(r["Location"]).content.decode()
    # Nonsense in the form is a form error, never a 500.
    assert c.post(url, {"action": "explode", "pupils": ["x"]}).status_code == 200
    assert c.get("/recognition/?period=bad&rule=bad").status_code == 200
