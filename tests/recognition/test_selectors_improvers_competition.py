"""Improvers with positive calls (Beecroft: "Motivating and positive calls to parents where
there is improvement") and the class competition (LAP: "Classes with the highest attendance
each week ... Pupils in the class with the highest attendance after each Half Term invited to
a Celebration Breakfast")."""

from datetime import date

from registers.models import Mark
from tests.conftest import client_for
from tests.recognition.conftest import mark, school_days


def test_improvers_by_margin_and_window(calendar, make_pupil, people):
    from recognition import services
    from recognition.models import PositiveCall
    from recognition.selectors import improvers

    settings = services.settings_get()
    settings.improved_weeks, settings.improved_margin = 2, 10
    settings.save()
    today = date(2026, 1, 30)
    days = [d for d in school_days(date(2025, 12, 1), 60) if d <= today]
    window = [d for d in days if d >= date(2026, 1, 19)]  # the last two school weeks
    before = [d for d in days if d < date(2026, 1, 19)][-len(window):]

    def pupil(name, absent_before, absent_now):
        p = make_pupil(legal_forename=name, legal_surname=name)
        mark(p, days, "/")
        for d in before[:absent_before]:
            Mark.objects.filter(pupil=p, date=d, session="AM").update(code="O")
        for d in window[:absent_now]:
            Mark.objects.filter(pupil=p, date=d, session="AM").update(code="O")
        return p

    pupil("Up", 4, 0)       # 80% -> 100%: +20
    pupil("Edge", 2, 0)     # 90% -> 100%: exactly +10, the margin
    pupil("Little", 1, 0)   # 95% -> 100%: +5
    pupil("Down", 0, 4)
    rows, start, _ = improvers(today=today, settings=settings)
    assert start == date(2026, 1, 19)
    assert [r.pupil.legal_surname for r in rows] == ["Up", "Edge"]

    c = client_for(people["attendance_officer"])
    # The page runs on today's date: add the calls through the service, tick one off on the page.
    services.positive_calls_create(pupils=[r.pupil for r in rows], reason="Improved")
    assert services.positive_calls_create(pupils=[rows[0].pupil], reason="again") == 0  # one open call
    call = PositiveCall.objects.get(pupil=rows[0].pupil)
    assert c.post(f"/recognition/calls/{call.pk}/done/", {"notes": "Dad delighted"}).status_code == 302
    call.refresh_from_db()
    assert call.done_on and call.notes == "Dad delighted"
    assert "Edge" in c.get("/recognition/improvers/").content.decode()


def test_class_of_the_week_and_lateness(calendar, make_pupil, people):
    from recognition.selectors import class_table

    days = school_days(date(2026, 1, 12), 5)
    for group, codes in (("3A", ["/", "/"]), ("3B", ["/", "L"]), ("3C", ["/", "O"])):
        for i, code in enumerate(codes):
            p = make_pupil(group=group, legal_surname=f"{group}{i}")
            mark(p, days, "/")
            Mark.objects.filter(pupil=p, date=days[0], session="AM").update(code=code)
    table = class_table(days[0], days[-1])
    # L is present: 3A and 3B tie on attendance and share first place.
    assert [(c.group.name, c.rank) for c in table] == [("3A", 1), ("3B", 1), ("3C", 3)]
    table = class_table(days[0], days[-1], lateness=True)
    assert [(c.group.name, c.rank) for c in table] == [("3A", 1), ("3B", 2), ("3C", 3)]
    assert client_for(people["teacher"]).get("/recognition/competition/poster/").status_code == 200


def test_settings_page_refuses_nonsense(school_a, people):
    from recognition import services
    from recognition.models import Rule

    services.settings_get()
    rule = Rule.objects.get(qualifies="consecutive_years")
    c = client_for(people["head"])
    data = {"s-fair_alternative": "best_ever", "s-improved_margin": "500", "s-improved_weeks": "6",
            "s-draw_winners": "3", "r-TOTAL_FORMS": "1", "r-INITIAL_FORMS": "1", "r-0-id": str(rule.pk),
            "r-0-name": rule.name, "r-0-qualifies": rule.qualifies, "r-0-gift": rule.gift,
            "r-0-years": "0", "r-0-active": "on"}
    r = c.post("/recognition/settings/", data)
    assert r.status_code == 200 and "at most 100 points" in r.content.decode()
    data["s-improved_margin"] = "5"
    assert c.post("/recognition/settings/", data).status_code == 200  # 0 years refused
    data["r-0-years"] = "6"
    assert c.post("/recognition/settings/", data).status_code == 302
    rule.refresh_from_db()
    assert rule.years == 6
