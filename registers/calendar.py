"""The school calendar: terms and closures, and the school days derived from them."""

from datetime import date, timedelta

from django.db import transaction

from .models import CalendarEntry, SchoolDay


def school_days_rebuild() -> int:
    """Recreate SchoolDay rows from the calendar entries; returns the number of open days."""
    entries = list(CalendarEntry.objects.all())
    closures = [e for e in entries if e.kind == CalendarEntry.Kind.CLOSURE]
    days = {}
    for term in (e for e in entries if e.kind == CalendarEntry.Kind.TERM):
        d = term.start_date
        while d <= term.end_date:
            if d.weekday() < 5:
                days[d] = SchoolDay(date=d, term=term.label, week=d - timedelta(days=d.weekday()))
            d += timedelta(days=1)
    for c in closures:
        d = c.start_date
        while d <= c.end_date:
            if d in days:
                days[d].closed = True
                days[d].closure_label = c.label
            d += timedelta(days=1)
    with transaction.atomic():
        SchoolDay.objects.all().delete()
        SchoolDay.objects.bulk_create(days.values(), batch_size=1000)
    return sum(1 for d in days.values() if not d.closed)


def calendar_replace(*, entries: list[CalendarEntry]) -> int:
    """Replace the calendar with ``entries`` (already validated) and rebuild school days."""
    with transaction.atomic():
        CalendarEntry.objects.all().delete()
        CalendarEntry.objects.bulk_create(entries)
        return school_days_rebuild()


def calendar_entry_add(*, entry: CalendarEntry) -> int:
    with transaction.atomic():
        entry.save()
        return school_days_rebuild()


def calendar_entry_delete(*, entry: CalendarEntry) -> int:
    with transaction.atomic():
        entry.delete()
        return school_days_rebuild()


def open_days(date_from: date | None = None, date_to: date | None = None):
    qs = SchoolDay.objects.filter(closed=False)
    if date_from:
        qs = qs.filter(date__gte=date_from)
    if date_to:
        qs = qs.filter(date__lte=date_to)
    return qs


def latest_open_day(on_or_before: date) -> date | None:
    return open_days(date_to=on_or_before).order_by("-date").values_list("date", flat=True).first()


def school_days_back(day: date, n: int) -> date | None:
    """The open school day ``n`` school days before ``day`` (``n=0``: the latest on or before)."""
    dates = open_days(date_to=day).order_by("-date").values_list("date", flat=True)
    if n == 0:
        return dates.first()
    return dates.filter(date__lt=day)[n - 1:n].first()


def days_next_to_breaks(date_from: date, date_to: date) -> list[date]:
    """Open school days next to a weekend, a holiday or a closure: those whose day before or day
    after is not an open school day (every Monday and Friday, the first and last days of each
    term, the days either side of an INSET day or a bank holiday). The one definition behind the
    "absences next to holidays and weekends" pattern (domain.md section 4), in the nightly
    trigger and on the pupil page."""
    days = set(open_days(date_from - timedelta(days=1), date_to + timedelta(days=1))
               .values_list("date", flat=True))
    one = timedelta(days=1)
    return sorted(d for d in days
                  if date_from <= d <= date_to and (d - one not in days or d + one not in days))
