from django import template

from registers import codes

register = template.Library()


@register.filter
def code_plain(code: str) -> str:
    """The plain-English meaning of a national code, for parents."""
    c = codes.CODES.get(code)
    return c.plain if c else code


@register.filter
def holiday_results(results) -> bool:
    """True for a family holiday's rule results: no "meets the rule" ticks are shown for it
    (each passed rule would read as a reason to expect leave that will normally be refused)."""
    return any(r.get("rule") == "family_holiday" if isinstance(r, dict)
               else getattr(r, "rule", "") == "family_holiday" for r in results or [])


@register.simple_tag
def office_waiting() -> dict:
    """Issue 17: what waits for the office, one query each: parents' reports not yet handled,
    leave requests not yet decided, and unexplained absences (N) this school year."""
    from django.utils import timezone

    from absences.models import AbsenceReport, LeaveRequest
    from registers.models import Mark
    from registers.school_year import school_year_start

    today = timezone.localdate()
    return {
        "reports": AbsenceReport.objects.filter(status=AbsenceReport.Status.NEW).count(),
        "leave": LeaveRequest.objects.filter(status=LeaveRequest.Status.PENDING).count(),
        "unexplained": Mark.objects.filter(code="N", date__range=(school_year_start(today), today))
        .count(),
    }


@register.simple_tag
def register_reminders(day) -> dict:
    """The day's register reminders by "<class id>-<session>" (one query)."""
    from absences.register_reminders import reminders_for

    return {f"{g}-{s}": rs for (g, s), rs in reminders_for(day).items()}


@register.filter
def lookup(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None
