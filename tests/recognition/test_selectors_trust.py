"""Trust-wide lists (issue 19 item 5): LAP's trust director "meets each head termly about the
PA, severe-absence and EHCP pupils across the trust" - the trust's own schools only."""

from datetime import date

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from tests.conftest import client_for, make_upn
from tests.factories import PupilFactory


def _pupil(name, *, absent, sen="N"):
    from registers.models import Mark, RegistrationGroup

    g, _ = RegistrationGroup.objects.get_or_create(name="5T", defaults={"year_group": 5})
    p = PupilFactory(upn=make_upn(), legal_surname=name, legal_forename=name,
                     date_of_birth=date(2015, 1, 1), gender="F", year_group=5,
                     registration_group=g, admission_date=date(2020, 9, 1), sen_status=sen)
    today = timezone.localdate()
    day = today.replace(day=1) if today.day > 1 else today
    Mark.objects.bulk_create([Mark(pupil=p, date=day, session="AM", code="O" if absent else "/"),
                              Mark(pupil=p, date=day, session="PM", code="\\")])
    return p


@pytest.fixture
def two_schools(school_a, school_b, people):
    from recognition.models import RecognitionSettings

    for school, prefix in ((school_a, "Alpha"), (school_b, "Beta")):
        with tenant_context(school):
            _pupil(f"{prefix}pa", absent=True)
            _pupil(f"{prefix}ehcp", absent=False, sen="E")
            _pupil(f"{prefix}fine", absent=False)
            RecognitionSettings.objects.update_or_create(pk=1, defaults={"trust_sees_names": True})
    return school_a, school_b


def test_trust_lists_cover_the_trusts_schools_only(two_schools, people):
    from recognition.selectors import trust_lists
    from tenants.models import Trust

    school_a, school_b = two_schools
    rows = trust_lists(school_a.trust, timezone.localdate())
    assert {r.school.schema_name for r in rows} == {"test_a", "test_b"}  # both in test-trust
    a = next(r for r in rows if r.school.schema_name == "test_a")
    assert [p.legal_surname for p, _ in a.pa] == ["Alphapa"] and a.counts["pa"] == 1
    assert [p.legal_surname for p, _ in a.sa] == ["Alphapa"]  # 50% absence: severe too
    assert [p.legal_surname for p, _ in a.ehcp] == ["Alphaehcp"]

    # School B joins another trust: test-trust's director no longer sees it, on the page too.
    other = Trust.objects.create(slug="other-trust", name="Other Trust")
    from django.db import connection

    connection.set_schema_to_public()
    school_b.trust = other
    school_b.save(update_fields=["trust"])
    connection.set_tenant(school_a)
    rows = trust_lists(school_a.trust, timezone.localdate())
    assert [r.school.schema_name for r in rows] == ["test_a"]
    page = client_for(people["trust_director"]).get("/recognition/trust/").content.decode()
    assert "Alphapa" in page and "Betapa" not in page and "Test School B" not in page
    # Another trust's school's host is not theirs at all.
    assert client_for(people["trust_director"], host="b.localhost").get(
        "/recognition/trust/").status_code == 404


def test_counts_only_where_the_school_keeps_names(two_schools, people):
    from recognition.models import RecognitionSettings
    from recognition.selectors import trust_lists

    school_a, _ = two_schools
    with tenant_context(school_a):
        RecognitionSettings.objects.filter(pk=1).update(trust_sees_names=False)
    a = next(r for r in trust_lists(school_a.trust, timezone.localdate())
             if r.school.schema_name == "test_a")
    assert a.pa == [] and a.counts == {"pa": 1, "sa": 1, "ehcp": 1}
    page = client_for(people["trust_director"]).get("/recognition/trust/").content.decode()
    assert "Alphapa" not in page and "Betapa" in page
    # Groups of fewer than 5 pupils show no figures.
    assert "fewer than 5" in page


def test_staff_groups_include_safeguarding_groups_for_staff_only(school_a, people):
    from registers.models import Pupil

    _pupil("Carer", absent=True)
    Pupil.objects.filter(legal_surname="Carer").update(young_carer=True)
    page = client_for(people["head"]).get("/recognition/groups/").content.decode()
    assert "Young carer" in page and "Social worker" in page
    for role in ("governor", "trust_director", "teacher", "parent"):
        assert client_for(people[role]).get("/recognition/groups/").status_code == 403


def test_staff_groups_by_ethnicity(school_a, people):
    """Issue 19 item 6: "ethnicity (the DfE's census categories)" as a breakdown for staff."""
    from recognition.selectors import ethnicity_groups
    from registers.models import Pupil

    for name, absent, code in [("Ava", True, "WBRI"), ("Ben", False, "WBRI"), ("Cai", False, "CHNE"),
                               ("Dee", False, "")]:
        _pupil(name, absent=absent)
        Pupil.objects.filter(legal_surname=name).update(ethnicity=code)
    rows = {r["label"]: r for r in ethnicity_groups(timezone.localdate())}
    assert list(rows) == ["White – British (WBRI)", "Chinese (CHNE)", "Not recorded"]
    assert (rows["White – British (WBRI)"]["pupils"], rows["White – British (WBRI)"]["pa"]) == (2, 1)
    assert (rows["Chinese (CHNE)"]["pupils"], rows["Chinese (CHNE)"]["pa"]) == (1, 0)
    page = client_for(people["head"]).get("/recognition/groups/").content.decode()
    assert 'id="ethnicity"' in page and "Chinese (CHNE)" in page and "Not recorded" in page
    assert client_for(people["governor"]).get("/recognition/groups/").status_code == 403
