"""Email to the office when a parent reports an absence, and to the headteacher (and the senior
attendance champion: role "head") when a leave request arrives. (The parent's email about a
decision goes through absences.parent_notices, in their language.) Sent after the
transaction commits, through Django's email framework (console backend in development, SMTP
from the environment in production)."""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

log = logging.getLogger(__name__)


def _office_addresses(school) -> list[str]:
    from tenants.models import User
    from tenants.roles import Role

    from .models import LeavePolicy

    policy = LeavePolicy.objects.first()
    if policy and policy.office_email:
        return [policy.office_email]
    if school.email:
        return [school.email]
    return sorted(set(User.objects.filter(memberships__school=school, memberships__role=Role.OFFICE)
                      .exclude(email="").values_list("email", flat=True)))


def _head_addresses(school) -> list[str]:
    """Everyone holding the head role in this school (headteacher, senior attendance champion);
    the school's own address when none of them has an email address."""
    from tenants.models import User
    from tenants.roles import Role

    heads = sorted(set(User.objects.filter(memberships__school=school, memberships__role=Role.HEAD,
                                           is_active=True)
                       .exclude(email="").values_list("email", flat=True)))
    return heads or ([school.email] if school.email else [])


def _school_host(school) -> str:
    return next((d.domain for d in school.domains.all() if d.is_primary), "")


def _send(subject: str, text: str, to: list[str], html: str | None = None) -> int:
    if not to:
        return 0
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, to)
    if html:
        message.attach_alternative(html, "text/html")
    try:
        return message.send()
    except OSError:  # an unreachable mail server must not lose the report or the decision
        log.exception("could not send %r to %s", subject, to)
        return 0


def report_received(report_id: int, schema: str) -> int:
    from tenants.models import School

    from .models import AbsenceReport

    school = School.objects.get(schema_name=schema)
    with schema_context(schema):
        report = AbsenceReport.objects.select_related("pupil__registration_group").get(pk=report_id)
        to = _office_addresses(school)
        subject = _("Absence reported: %(name)s (%(group)s)") % {
            "name": report.pupil.display_name, "group": report.pupil.registration_group}
        text = render_to_string("absences/email/report_received.txt",
                                {"report": report, "school": school})
    return _send(subject, text, to)


def leave_requested(request_id: int, schema: str) -> int:
    from tenants.models import School

    from .models import LeaveRequest

    school = School.objects.prefetch_related("domains").get(schema_name=schema)
    with schema_context(schema):
        request = LeaveRequest.objects.select_related("pupil__registration_group").get(pk=request_id)
        to = _head_addresses(school)
        subject = _("Leave request to decide: %(name)s (%(group)s)") % {
            "name": request.pupil.display_name, "group": request.pupil.registration_group}
        text = render_to_string("absences/email/leave_requested.txt", {
            "request": request, "school": school, "host": _school_host(school),
            "failed": request.rules_failed})
    return _send(subject, text, to)
