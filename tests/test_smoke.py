from registers.models import SchoolDay


def test_school_schema_has_calendar(calendar):
    assert SchoolDay.objects.filter(closed=False).count() > 150
    assert SchoolDay.objects.get(date="2025-09-01").closed
