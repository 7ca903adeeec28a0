"""The one write path for what parents send and how the school answers.

Every function is atomic: a bad input raises ``ValidationError`` (a dict of field ->
message where a field is to blame) and nothing is saved. Marks are only ever written
through ``registers.services.marks_save``, so an existing mark is never changed without an
amendment row.
"""

import os
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.formats import date_format, time_format
from django.utils.translation import gettext as _

from registers import codes, policy
from registers.models import Pupil
from registers.services import Entry, RegisterError, late_code, marks_save

from . import language, notifications, parent_notices, rules, selectors
from .family_messages import current_school
from .models import (
    AbsenceReport,
    AssessmentPeriod,
    ContactAttempt,
    ContactPreference,
    LeaveDecision,
    LeavePolicy,
    LeaveRequest,
    PortalMessage,
)
from .signals import leave_decided

MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
DOCUMENT_SIGNATURES = {".pdf": b"%PDF-", ".jpg": b"\xff\xd8\xff", ".jpeg": b"\xff\xd8\xff",
                       ".png": b"\x89PNG\r\n\x1a\n"}
MAX_REPORT_DAYS = 31
MAX_LEAVE_DAYS = 120
# Codes the office may use when it accepts a report or resolves an unexplained absence.
ACCEPT_CODES = [c for c in codes.ABSENCE_CODES if c not in ("N", "U")]
RESOLVE_CODES = [c for c in codes.MARKABLE_CODES if c not in ("N", "#")]
# A late arrival is accepted as L or U (the register times decide which is suggested), or the
# office chooses an absence code instead (M for an appointment that made the child late).
LATE_ACCEPT_CODES = ["L", "U"] + ACCEPT_CODES
MAX_MINUTES_LATE = 300  # what registers.services accepts for one mark
# The reasons of an absence (a late arrival has its own service: late_arrival_report_create).
ABSENCE_REASONS = [r for r in AbsenceReport.Reason.values if r != AbsenceReport.Reason.LATE_ARRIVAL]
# A pre-fill replaces only these (with an amendment); any other mark is left as it is.
REPLACEABLE = {"N", "O"}


def _name(user) -> str:
    return (user.get_full_name() or user.username) if user else "system"


def _d(day: date) -> str:
    return date_format(day, "D j M Y")


def _schema() -> str:
    return connection.schema_name


# --- shared checks ---------------------------------------------------------------------------

def _check_range(first_day, first_session, last_day, last_session, errors: dict) -> None:
    if (last_day, last_session) < (first_day, first_session):
        errors["last_day"] = _("The last day is before the first day.")


def _sessions_or_error(first_day, first_session, last_day, last_session, errors: dict):
    sessions = selectors.sessions_between(first_day, first_session, last_day, last_session)
    if not sessions and "last_day" not in errors:
        errors["first_day"] = _(
            "There are no school sessions from %(first)s to %(last)s: the dates are a weekend, a "
            "holiday or outside the school's term dates.") % {"first": _d(first_day), "last": _d(last_day)}
    return sessions


def document_check(document) -> None:
    """Supporting documents: PDF, JPEG or PNG (checked by content, not only the name), ≤ 5 MB."""
    if document.size > MAX_DOCUMENT_BYTES:
        raise ValidationError({"document": _(
            "The file is %(size).1f MB: the largest file you can upload is 5 MB.")
            % {"size": document.size / 1024 / 1024}})
    ext = os.path.splitext(document.name or "")[1].lower()
    head = document.read(8)
    document.seek(0)
    if ext not in DOCUMENT_SIGNATURES or not head.startswith(DOCUMENT_SIGNATURES[ext]):
        raise ValidationError({"document": _(
            "Upload a PDF, JPEG or PNG file (a photo or scan of the letter is fine).")})


# Evidence for a report: the type is read from the content, never the name or the browser.
EVIDENCE_TYPES = ((b"%PDF-", "pdf", "application/pdf"), (b"\xff\xd8\xff", "jpg", "image/jpeg"),
                  (b"\x89PNG\r\n\x1a\n", "png", "image/png"))


def evidence_check(upload) -> tuple[str, str]:
    """(extension, content type) of an upload that is a PDF, JPEG or PNG of at most 5 MB,
    judged by its first bytes; anything else is refused with a plain message."""
    size = getattr(upload, "size", None) or 0
    if size > MAX_DOCUMENT_BYTES:
        raise ValidationError({"evidence": _(
            "The file is %(size).1f MB: the largest file you can upload is 5 MB.")
            % {"size": size / 1024 / 1024}})
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    for magic, ext, content_type in EVIDENCE_TYPES:
        if size > len(magic) and head.startswith(magic):
            return ext, content_type
    raise ValidationError({"evidence": _(
        "Upload a PDF, JPEG or PNG file (a photo or scan of the letter is fine).")})


def _store_evidence(report: AbsenceReport, upload) -> None:
    from django.core.files import File

    ext, content_type = evidence_check(upload)
    if report.evidence:
        report.evidence.delete(save=False)
    report.evidence.save(f"evidence.{ext}", File(upload), save=False)
    report.evidence_type = content_type
    report.save(update_fields=["evidence", "evidence_type"])


@transaction.atomic
def report_evidence_attach(*, report: AbsenceReport, upload) -> AbsenceReport:
    """A parent adds evidence (an appointment card) to a report already sent; a report the
    office queried goes back to its waiting list with the evidence."""
    _waiting_changed()
    report = AbsenceReport.objects.select_for_update().get(pk=report.pk)
    if report.status == AbsenceReport.Status.ACCEPTED:
        raise ValidationError(_("This report has already been accepted."))
    _store_evidence(report, upload)
    if report.status == AbsenceReport.Status.QUERIED:
        report.status = AbsenceReport.Status.NEW
        report.save(update_fields=["status"])
    return report


def _waiting_changed() -> None:
    """The counts waiting in the menu are counted again after this commits."""
    transaction.on_commit(selectors.waiting_forget)


def _prefill(*, school, pupil: Pupil, sessions, code: str, reason: str, user, role: str,
             basis: str, minutes_late: int | None = None) -> dict:
    """Write ``code`` into each session: new marks are created, N/O marks are amended (with
    ``reason``), any other mark is kept and reported back. ``basis`` (granted leave or an
    accepted report) is what lets registers.policy accept the code in a future session."""
    marks = selectors.existing_marks(pupil, sessions)
    written, kept = [], []
    for day, session in sessions:
        mark = marks.get((day, session))
        if mark is not None and (mark.code == code or mark.code not in REPLACEABLE):
            if mark.code != code:
                kept.append((day, session, mark.code))
            continue
        try:
            marks_save(school=school, day=day, session=session, pupils=[pupil],
                       entries=[Entry(pupil.pk, code, minutes_late, reason)], user=user, role=role,
                       basis=basis)
        except RegisterError as exc:
            raise ValidationError("; ".join(str(v) for v in exc.errors.values())) from exc
        written.append((day, session))
    return {"written": written, "kept": kept}


def _message(*, pupil, recipient, compose, link: str = "") -> PortalMessage:
    """A portal message only (no email), composed in the recipient's language."""
    code = language.DEFAULT
    if recipient is not None:
        code = language.valid(ContactPreference.objects.filter(
            contact__pupil=pupil, contact__user=recipient).exclude(language="")
            .values_list("language", flat=True).first())
    with translation.override(code):
        subject, body = compose()
    return PortalMessage.objects.create(pupil=pupil, recipient=recipient, subject=subject[:200],
                                        body=body, link=link)


# --- absence reports ---------------------------------------------------------------------------

def office_phone(school) -> str:
    """"the school office on 0113 …" wherever a parent is told to phone (the number if known)."""
    phone = (getattr(school, "phone", "") or "").strip()
    return _("the school office on %(phone)s") % {"phone": phone} if phone else _("the school office")


@transaction.atomic
def _refuse_if_invalid(errors: dict, evidence) -> None:
    """Adds the evidence file's problems to a report's ``errors`` and refuses it if any."""
    if evidence:
        try:
            evidence_check(evidence)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)


# Complexity: validates the report's dates, sessions, evidence and lateness in one place.
def absence_report_create(*, school, pupil: Pupil, user, reason: str, first_day: date,  # noqa: C901
                          last_day: date, first_session: str = "AM", last_session: str = "PM",
                          details: str = "", now: datetime | None = None,
                          evidence=None) -> AbsenceReport:
    """A parent reports an absence: today until the afternoon register closes (flagged late
    after its first session's register closed), or future days.

    Illness over several days is one report covering the whole range.
    """
    _waiting_changed()
    now = timezone.localtime(now)
    today = now.date()
    errors: dict = {}
    if reason not in ABSENCE_REASONS:
        errors["reason"] = _("Choose a reason.")
    _check_range(first_day, first_session, last_day, last_session, errors)
    late = False
    if first_day == today:
        # Until the afternoon register closes a report for today is accepted (an afternoon
        # appointment, or why the morning was missed); after its session's register closed
        # it is flagged late for the office.
        if now.time() > school.pm_close:
            errors["first_day"] = _(
                "Today's registers closed at %(time)s, so today's absence can no longer be "
                "reported here. Please phone %(office)s.") % {
                "time": time_format(school.pm_close, "H:i"), "office": office_phone(school)}
        else:
            late = now.time() > (school.am_close if first_session == "AM" else school.pm_close)
    elif first_day < today:
        errors["first_day"] = _("You can report today or future days here. For an absence that "
                                "has already happened, please phone %(office)s.") % {
                                "office": office_phone(school)}
    if (last_day - first_day).days >= MAX_REPORT_DAYS:
        errors["last_day"] = _("A report can cover up to %(n)d days. For a longer absence please "
                               "phone %(office)s.") % {"n": MAX_REPORT_DAYS,
                                                       "office": office_phone(school)}
    if not errors:
        _sessions_or_error(first_day, first_session, last_day, last_session, errors)
    if not errors and any(
            not r.is_late_arrival  # a late arrival covers only the session the child came in
            or (first_day, first_session) <= (r.first_day, r.first_session) <= (last_day, last_session)
            for r in AbsenceReport.objects.filter(
                pupil=pupil, first_day__lte=last_day, last_day__gte=first_day).exclude(
                status=AbsenceReport.Status.QUERIED)):
        errors["first_day"] = _("You have already reported an absence for %(name)s on some of "
                                "these days.") % {"name": pupil.forename}
    _refuse_if_invalid(errors, evidence)
    report = AbsenceReport.objects.create(
        pupil=pupil, reason=reason, first_day=first_day, first_session=first_session,
        last_day=last_day, last_session=last_session, details=details.strip(), reported_by=user,
        late=late)
    if evidence:
        _store_evidence(report, evidence)
    schema = _schema()
    transaction.on_commit(lambda: notifications.report_received(report.pk, schema))
    return report


def _minutes_between(earlier, later) -> int:
    gap = datetime.combine(date.min, later) - datetime.combine(date.min, earlier)
    return int(gap.total_seconds() // 60)


# Complexity: one check per way the time of arrival can be wrong, each with its own message.
@transaction.atomic
def late_arrival_report_create(*, school, pupil: Pupil, user, arrived_at, because: str,  # noqa: C901
                               day: date | None = None, now: datetime | None = None,
                               evidence=None) -> AbsenceReport:
    """A parent says their child arrived late today, at ``arrived_at``, and why (issue 14).

    The report covers the one session the child arrived in (the afternoon from when its
    register opens, else the morning). The time must be today, after the session's "late
    after" time (before it the child was on time) and not later than now. The code the office
    is offered is the register's own rule (``registers.services.late_code``): L if the child
    arrived before the register closed, U after; minutes late count from "late after".
    """
    _waiting_changed()
    now = timezone.localtime(now)
    today = now.date()
    errors: dict = {}
    if day is not None and day != today:
        errors["first_day"] = _("A late arrival can only be reported on the day, for today.")
    if arrived_at is None:
        errors["arrived_at"] = _("Give the time %(name)s arrived at school, for example 09:25.") % {
            "name": pupil.forename}
    if not (because or "").strip():
        errors["late_because"] = _("Tell the school why %(name)s arrived late.") % {"name": pupil.forename}
    session = minutes = code = None
    if "arrived_at" not in errors:
        arrived_at = arrived_at.replace(second=0, microsecond=0)
        session = "PM" if arrived_at >= school.pm_open else "AM"
        _opens, late_after, _closes = school.register_times(session)
        if arrived_at > now.time():
            errors["arrived_at"] = _("The time of arrival, %(time)s, is later than now (%(now)s): give "
                                     "the time %(name)s actually arrived.") % {
                "time": time_format(arrived_at, "H:i"), "now": time_format(now.time(), "H:i"),
                "name": pupil.forename}
        elif session == "PM" and arrived_at <= late_after:
            errors["arrived_at"] = _("At %(time)s %(name)s was in time for the afternoon register. If "
                                     "%(name)s missed the morning, report an absence for this morning "
                                     "instead.") % {"time": time_format(arrived_at, "H:i"),
                                                    "name": pupil.forename}
        elif arrived_at <= late_after:
            errors["arrived_at"] = _("School counts a child as late only after %(late)s, so at "
                                     "%(time)s %(name)s was on time: there is nothing to report.") % {
                "late": time_format(late_after, "H:i"), "time": time_format(arrived_at, "H:i"),
                "name": pupil.forename}
        else:
            minutes = _minutes_between(late_after, arrived_at)
            code = late_code(school=school, session=session, minutes_late=minutes)
    if not errors and not selectors.sessions_between(today, session, today, session):
        errors["first_day"] = _("Today is not a school day for %(name)s.") % {"name": pupil.forename}
    if not errors and any(
            (r.first_day, r.first_session) <= (today, session) <= (r.last_day, r.last_session)
            for r in AbsenceReport.objects.filter(pupil=pupil, first_day__lte=today, last_day__gte=today)
            .exclude(status=AbsenceReport.Status.QUERIED)):
        errors["arrived_at"] = _("You have already told the school about %(name)s for this session "
                                 "today. To add something, please phone %(office)s.") % {
            "name": pupil.forename, "office": office_phone(school)}
    _refuse_if_invalid(errors, evidence)
    report = AbsenceReport.objects.create(
        pupil=pupil, reason=AbsenceReport.Reason.LATE_ARRIVAL, first_day=today, first_session=session,
        last_day=today, last_session=session, details=because.strip(), reported_by=user,
        arrived_at=arrived_at, minutes_late=minutes, arrival_code=code)
    if evidence:
        _store_evidence(report, evidence)
    schema = _schema()
    transaction.on_commit(lambda: notifications.report_received(report.pk, schema))
    return report


PHONED_DAYS_BACK = 14  # the office may record a phoned-in absence up to two weeks back


@transaction.atomic
def absence_report_record(*, school, pupil: Pupil, user, role: str, reason: str, first_day: date,
                          last_day: date, caller: str, first_session: str = "AM",
                          last_session: str = "PM", code: str = "", details: str = "",
                          today: date | None = None) -> tuple[AbsenceReport, dict]:
    """A parent phoned: the office records the report on their behalf, accepted at once.

    The code (I for illness, M for a medical appointment, or the office's choice) is pre-filled
    through the same path as accepting a parent's report: unmarked sessions get the code, N/O
    marks are amended with a reason, any other mark is kept. Who took the call is recorded.
    Returns the report and the pre-fill result ({"written": [...], "kept": [...]}).
    """
    _waiting_changed()
    today = today or timezone.localdate()
    errors: dict = {}
    if reason not in ABSENCE_REASONS:
        errors["reason"] = _("Choose a reason.")
    code = code or (AbsenceReport.SUGGESTED_CODE.get(reason, "") if "reason" not in errors else "")
    if "reason" not in errors and code not in ACCEPT_CODES:
        errors["code"] = _("Choose the absence code to record (for example I for illness or M "
                           "for a medical appointment).")
    if not caller.strip():
        errors["caller"] = _("Write down who phoned (for example \"Mum, Pat Khan\").")
    _check_range(first_day, first_session, last_day, last_session, errors)
    if "first_day" not in errors and (today - first_day).days > PHONED_DAYS_BACK:
        errors["first_day"] = _("A phoned-in absence can be recorded up to %(n)d days back. For "
                                "older absences correct the register with an amendment.") % {
            "n": PHONED_DAYS_BACK}
    if "last_day" not in errors and (last_day - first_day).days >= MAX_REPORT_DAYS:
        errors["last_day"] = _("A report can cover up to %(n)d days.") % {"n": MAX_REPORT_DAYS}
    if not pupil.on_roll(first_day) and "first_day" not in errors:
        errors["first_day"] = _("%(name)s is not on roll on %(day)s.") % {
            "name": pupil.display_name, "day": _d(first_day)}
    sessions = []
    if not errors:
        sessions = _sessions_or_error(first_day, first_session, last_day, last_session, errors)
    if not errors and AbsenceReport.objects.filter(
            pupil=pupil, first_day__lte=last_day, last_day__gte=first_day).exclude(
            status=AbsenceReport.Status.QUERIED).exists():
        errors["first_day"] = _("An absence is already reported for %(name)s on some of these "
                                "days: accept or query that report in the inbox instead.") % {
            "name": pupil.display_name}
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    report = AbsenceReport.objects.create(
        pupil=pupil, reason=reason, first_day=first_day, first_session=first_session,
        last_day=last_day, last_session=last_session, details=details.strip(),
        status=AbsenceReport.Status.ACCEPTED, reported_by=None, code_applied=code,
        handled_by=user, handled_by_name=_name(user), handled_at=now,
        taken_by=user, taken_by_name=_name(user), caller=caller.strip()[:150])
    result = _prefill(school=school, pupil=pupil, sessions=sessions, code=code, user=user,
                      role=role, basis=policy.REPORT,
                      reason=(f"Parent phoned ({caller.strip()}), taken by {_name(user)}: "
                              f"{report.get_reason_display().lower()}")[:300])
    parent = next((c.user for c in pupil.contacts.select_related("user")
                   .order_by("priority") if c.user_id), None)
    _message(pupil=pupil, recipient=parent, compose=lambda: (
        _("Absence recorded: %(name)s") % {"name": pupil.forename},
        _("The school office recorded the absence you phoned in: %(name)s, %(first)s to "
          "%(last)s (%(reason)s). The register shows: %(code)s.") % {
            "name": pupil.forename, "first": _d(first_day), "last": _d(last_day),
            "reason": report.get_reason_display().lower(), "code": codes.CODES[code].plain}))
    return report, result


@transaction.atomic
def absence_report_accept(*, school, report: AbsenceReport, user, role: str, code: str = "",
                          message: str = "") -> dict:
    """The office accepts a report: the code (I for illness, M for medical...) is pre-filled
    into each session of the report that is unmarked or marked N."""
    _waiting_changed()
    report = AbsenceReport.objects.select_for_update().select_related("pupil").get(pk=report.pk)
    if report.status == AbsenceReport.Status.ACCEPTED:
        raise ValidationError(_("This report has already been accepted."))
    code = code or report.suggested_code
    if code not in (LATE_ACCEPT_CODES if report.is_late_arrival else ACCEPT_CODES):
        raise ValidationError({"code": _("Choose the absence code to record (for example I for "
                                         "illness or M for a medical appointment).")})
    sessions = selectors.sessions_between(report.first_day, report.first_session,
                                          report.last_day, report.last_session)
    minutes, why = None, f"Parent reported {report.get_reason_display().lower()}: accepted"
    if report.is_late_arrival:
        why = (f"Parent reported a late arrival at {report.arrived_at:%H:%M}: "
               f"{report.details}")[:290] + ": accepted"
        # The minutes go with the code the register times give (the register recomputes L or U
        # from them); an office that chose the other of L and U keeps its choice, unminuted.
        if code == report.arrival_code and report.minutes_late is not None:
            minutes = min(report.minutes_late, MAX_MINUTES_LATE)
    result = _prefill(school=school, pupil=report.pupil, sessions=sessions, code=code, user=user,
                      role=role, basis=policy.REPORT, reason=why, minutes_late=minutes)
    report.status = AbsenceReport.Status.ACCEPTED
    report.code_applied, report.response = code, message.strip()
    report.handled_by, report.handled_by_name, report.handled_at = user, _name(user), timezone.now()
    report.save()
    def compose():
        if report.is_late_arrival:
            body = _("The school has accepted your report that %(name)s arrived late at %(time)s "
                     "on %(day)s. The register shows: %(code)s.") % {
                "name": report.pupil.forename, "time": time_format(report.arrived_at, "H:i"),
                "day": _d(report.first_day), "code": codes.CODES[code].plain}
            if report.response:
                body += "\n\n" + report.response
            return _("Late arrival report accepted: %(name)s") % {"name": report.pupil.forename}, body
        body = _("The school has accepted your report that %(name)s is absent from %(first)s to "
                 "%(last)s (%(reason)s). The register shows: %(code)s.") % {
            "name": report.pupil.forename, "first": _d(report.first_day),
            "last": _d(report.last_day), "reason": report.get_reason_display().lower(),
            "code": codes.CODES[code].plain}
        if report.response:
            body += "\n\n" + report.response
        return _("Absence report accepted: %(name)s") % {"name": report.pupil.forename}, body

    _message(pupil=report.pupil, recipient=report.reported_by, compose=compose)
    return result


@transaction.atomic
def absence_report_query(*, report: AbsenceReport, user, message: str) -> AbsenceReport:
    """The office queries a report: the parent sees the question in the portal."""
    _waiting_changed()
    if not message.strip():
        raise ValidationError({"message": _("Write the question for the parent.")})
    report = AbsenceReport.objects.select_for_update().select_related("pupil").get(pk=report.pk)
    if report.status == AbsenceReport.Status.ACCEPTED:
        raise ValidationError(_("This report has already been accepted."))
    report.status, report.response = AbsenceReport.Status.QUERIED, message.strip()
    report.handled_by, report.handled_by_name, report.handled_at = user, _name(user), timezone.now()
    report.save()
    parent_notices.tell(
        pupil=report.pupil, recipient=report.reported_by,
        key=f"report-query:{report.pk}:{report.handled_at:%Y%m%d%H%M%S}",
        link=f"/absences/children/{report.pupil_id}/#reports-h", compose=lambda: (
            _("The school has a question about %(name)s's absence") % {"name": report.pupil.forename},
            _("About the absence you reported for %(first)s (%(reason)s), the school office asks:")
            % {"first": _d(report.first_day), "reason": report.get_reason_display().lower()}
            + "\n\n" + report.response + "\n\n"
            + _("Please reply through the parent portal or phone %(office)s.") % {
                "office": office_phone(current_school())}))
    return report


# --- leave requests ----------------------------------------------------------------------------

def leave_preview(*, pupil: Pupil, first_day: date, first_session: str, last_day: date,
                  last_session: str, reason: str, today: date | None = None,
                  policy: LeavePolicy | None = None):
    """Check a draft request and run the school's rules: (sessions, rule results).

    Raises ``ValidationError`` for input that cannot be a request at all.
    """
    today = today or timezone.localdate()
    errors: dict = {}
    if reason not in LeaveRequest.Reason.values:
        errors["reason"] = _("Choose a reason.")
    _check_range(first_day, first_session, last_day, last_session, errors)
    if (last_day - first_day).days >= MAX_LEAVE_DAYS:
        errors["last_day"] = _("A request can cover up to %(n)d days.") % {"n": MAX_LEAVE_DAYS}
    sessions = [] if errors else _sessions_or_error(first_day, first_session, last_day,
                                                    last_session, errors)
    if sessions:
        marked = selectors.existing_marks(pupil, sessions)
        if marked:
            (d, s), mark = sorted(marked.items())[0]
            errors["first_day"] = _(
                "%(when)s is already in the register as %(code)s (%(plain)s), so leave cannot be "
                "requested for it. Choose other dates or contact the school office.") % {
                "when": f"{_d(d)} {s}", "code": mark.code,
                "plain": codes.CODES[mark.code].plain if mark.code in codes.CODES else ""}
        elif LeaveRequest.objects.filter(
                pupil=pupil, first_day__lte=last_day, last_day__gte=first_day,
                status__in=[LeaveRequest.Status.PENDING]).exists():
            errors["first_day"] = _("There is already a request waiting for a decision for some "
                                    "of these dates.")
    if errors:
        raise ValidationError(errors)
    policy = policy or selectors.policy_current()
    facts = selectors.leave_facts(pupil=pupil, today=today, policy=policy, for_day=first_day)
    draft = rules.Draft(first_day=first_day, last_day=last_day, reason=reason,
                        dates=sorted({d for d, _s in sessions}), sessions=len(sessions),
                        year_group=pupil.year_group)
    return sessions, rules.evaluate(policy, draft, facts)


@transaction.atomic
def leave_request_submit(*, pupil: Pupil, user, first_day: date, first_session: str,
                         last_day: date, last_session: str, reason: str, explanation: str,
                         document=None, today: date | None = None) -> LeaveRequest:
    """Record a request with the rule results the parent saw. Blocking rules stop it."""
    _waiting_changed()
    errors: dict = {}
    if not explanation.strip():
        errors["explanation"] = _("Explain why you are asking for leave.")
    if document:
        try:
            document_check(document)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    try:
        sessions, results = leave_preview(pupil=pupil, first_day=first_day,
                                          first_session=first_session, last_day=last_day,
                                          last_session=last_session, reason=reason, today=today)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    else:
        blocked = rules.blocking(results)
        if blocked:
            errors.setdefault("first_day", blocked[0].message)
    if errors:
        raise ValidationError(errors)
    request = LeaveRequest(
        pupil=pupil, requested_by=user, requested_by_name=_name(user), first_day=first_day,
        first_session=first_session, last_day=last_day, last_session=last_session,
        sessions=[selectors.session_key(d, s) for d, s in sessions], reason=reason,
        explanation=explanation.strip(), rule_results=[r.as_dict() for r in results])
    if document:
        request.document = document
    request.save()
    schema = _schema()
    transaction.on_commit(lambda: notifications.leave_requested(request.pk, schema))
    return request


def _letter_recipient(request: LeaveRequest):
    contacts = list(request.pupil.contacts.all())
    return (next((c for c in contacts if c.user_id and c.user_id == request.requested_by_id), None)
            or next((c for c in contacts if c.correspondence), None)
            or (contacts[0] if contacts else None))


def days_of(keys: list[str]) -> list[tuple[date, str]]:
    """Session keys grouped into days for letters: (date, "all day" / "morning" / "afternoon")."""
    by_day: dict[date, list[str]] = {}
    for k in keys:
        d, s = selectors.parse_session_key(k)
        by_day.setdefault(d, []).append(s)
    part = {"AM": _("morning only"), "PM": _("afternoon only")}
    return [(d, _("all day") if len(ss) == 2 else part[ss[0]]) for d, ss in sorted(by_day.items())]


def leave_letter_render(*, school, request: LeaveRequest, decision: LeaveDecision,
                        contact=None) -> str:
    granted = days_of(decision.granted_sessions)
    granted_set = set(decision.granted_sessions)
    not_granted = days_of([k for k in request.sessions if k not in granted_set])
    return render_to_string("absences/letter_body.html", {
        "school": school, "request": request, "decision": decision, "pupil": request.pupil,
        "contact": contact or _letter_recipient(request), "granted": granted,
        "not_granted": not_granted,
        "code": codes.CODES.get(decision.code),
        "headteacher": school.headteacher or decision.decided_by_name,
    })


# Complexity: one decision, validated step by step (outcome, sessions, code, reason) before any write.
@transaction.atomic
def leave_request_decide(*, school, request: LeaveRequest, user, role: str, outcome: str,  # noqa: C901
                         granted: list[str] | None = None, code: str = "",
                         reason: str = "") -> LeaveDecision:
    """The headteacher grants all, grants some sessions, or refuses with a reason.

    Granted sessions are pre-filled in the register with the leave code; the decision
    letter is stored, the parent gets a portal message and an email.
    """
    _waiting_changed()
    request = LeaveRequest.objects.select_for_update().select_related(
        "pupil__registration_group").get(pk=request.pk)
    if request.status != LeaveRequest.Status.PENDING:
        raise ValidationError(_("This request has already been decided."))
    requested = list(request.sessions)
    Outcome = LeaveDecision.Outcome
    errors: dict = {}
    if outcome == Outcome.GRANT_ALL:
        keys = requested
    elif outcome == Outcome.GRANT_SOME:
        chosen = set(granted or [])
        if chosen - set(requested):
            errors["granted"] = _("Only sessions in the request can be granted.")
        keys = [k for k in requested if k in chosen]
        if not keys:
            errors["granted"] = _("Tick the sessions you grant, or refuse the request.")
        elif len(keys) == len(requested):
            outcome = Outcome.GRANT_ALL
    elif outcome == Outcome.REFUSE:
        keys = []
        if not reason.strip():
            errors["reason"] = _("Give the reason for refusing: the parent will read it.")
    else:
        errors["outcome"] = _("Choose grant all, grant some or refuse.")
        keys = []
    code = (code or request.default_code) if keys else ""
    if keys and code not in LeaveDecision.LEAVE_CODES:
        errors["code"] = _("Choose a leave code: C, R, M, C1 or T.")
    if errors:
        raise ValidationError(errors)
    sessions = [selectors.parse_session_key(k) for k in keys]
    _prefill(school=school, pupil=request.pupil, sessions=sessions, code=code, user=user, role=role,
             basis=policy.LEAVE, reason=f"Leave granted by {_name(user)} (request {request.pk})")
    decision = LeaveDecision.objects.create(
        request=request, outcome=outcome, code=code, granted_sessions=keys, reason=reason.strip(),
        decided_by=user, decided_by_name=_name(user), decided_by_role=role)
    request.status = outcome
    request.save(update_fields=["status"])
    recipient = _letter_recipient(request)
    with translation.override(language.for_contact(recipient)):  # the letter in the portal
        decision.letter_html = leave_letter_render(school=school, request=request, decision=decision)
    decision.save(update_fields=["letter_html"])
    # the letters app stores the decision as a PDF letter (absences/signals.py)
    leave_decided.send(sender=LeaveRequest, request=request)

    def compose():
        subject = {
            Outcome.GRANT_ALL: _("Leave granted for %(name)s"),
            Outcome.GRANT_SOME: _("Leave partly granted for %(name)s"),
            Outcome.REFUSE: _("Leave refused for %(name)s"),
        }[outcome] % {"name": request.pupil.forename}
        body = _("The headteacher has decided your request for %(first)s to %(last)s: %(outcome)s, "
                 "%(granted)s of %(asked)s days granted.") % {
            "first": _d(request.first_day), "last": _d(request.last_day),
            "outcome": decision.get_outcome_display().lower(),
            "granted": f"{decision.days_granted:g}", "asked": f"{request.days_requested:g}"}
        if decision.reason:
            body += "\n\n" + decision.reason
        return subject, body

    # Portal message, and an email (the letter attached as HTML) in each contact's language.
    parent_notices.tell(
        pupil=request.pupil, recipient=request.requested_by, key=f"leave-decision:{request.pk}",
        link=f"/absences/leave/{request.pk}/letter/", compose=compose,
        html=lambda: leave_letter_render(school=school, request=request, decision=decision))
    return decision


@transaction.atomic
def leave_mark_unauthorised(*, school, request: LeaveRequest, user, role: str,
                            today: date | None = None) -> int:
    """Refused leave was taken: the office turns the N marks on those dates into G."""
    today = today or timezone.localdate()
    due = next((d["sessions"] for d in selectors.refused_leave_due(today)
                if d["request"].pk == request.pk), [])
    for day, session in due:
        marks_save(school=school, day=day, session=session, pupils=[request.pupil],
                   entries=[Entry(request.pupil_id, "G", None,
                                  f"Leave refused (request {request.pk}): holiday not granted")],
                   user=user, role=role)
    if due:
        LeaveRequest.objects.filter(pk=request.pk).update(g_marked_at=timezone.now())
    return len(due)


# --- unexplained absences -------------------------------------------------------------------------

def contact_attempt_add(*, pupil: Pupil, user, outcome: str, note: str = "") -> ContactAttempt:
    if outcome not in ContactAttempt.Outcome.values:
        raise ValidationError({"outcome": _("Choose what happened.")})
    return ContactAttempt.objects.create(pupil=pupil, outcome=outcome, note=note.strip()[:500],
                                         user=user, user_name=_name(user))


@transaction.atomic
def unexplained_resolve(*, school, pupil: Pupil, sessions: list[tuple[date, str]], code: str,
                        note: str, user, role: str) -> int:
    """A reason was received: the chosen N marks become ``code`` through amendments, and the
    contact log records it."""
    errors: dict = {}
    if code not in RESOLVE_CODES:
        errors["code"] = _("Choose the code that matches the reason.")
    if not note.strip():
        errors["note"] = _("Write down the reason you were given.")
    if not sessions:
        errors["sessions"] = _("Tick the sessions the reason covers.")
    marks = selectors.existing_marks(pupil, sorted(sessions))
    if sessions and any(marks.get(s) is None or marks[s].code != "N" for s in sessions):
        errors["sessions"] = _("Only sessions still marked N can be resolved here.")
    if errors:
        raise ValidationError(errors)
    for day, session in sorted(sessions):
        marks_save(school=school, day=day, session=session, pupils=[pupil],
                   entries=[Entry(pupil.pk, code, None, f"Reason received: {note.strip()}"[:300])],
                   user=user, role=role)
    contact_attempt_add(pupil=pupil, user=user, outcome=ContactAttempt.Outcome.REASON_RECEIVED,
                        note=f"{code}: {note.strip()}")
    return len(sessions)


# --- configuration ---------------------------------------------------------------------------------

@transaction.atomic
def policy_save(**fields) -> LeavePolicy:
    """Create or update the school's single leave policy row."""
    policy = LeavePolicy.objects.select_for_update().first() or LeavePolicy()
    for k, v in fields.items():
        setattr(policy, k, v)
    policy.full_clean()
    policy.save()
    return policy


# Statutory assessment periods, per school year (issue 12 item 11) ------------------------------

def _policy_for_update() -> LeavePolicy:
    return LeavePolicy.objects.select_for_update().first() or LeavePolicy.objects.create()


@transaction.atomic
def assessment_period_save(*, label: str, start_date: date, end_date: date, year_group: int | None = None,
                           period: AssessmentPeriod | None = None) -> AssessmentPeriod:
    """Add (or correct) one statutory assessment period; it belongs to the school year its dates
    fall in, and cannot straddle two."""
    from registers.school_year import school_year_start

    if not label.strip():
        raise ValidationError(_("Name the assessment (e.g. Key stage 2 tests)."))
    if start_date > end_date:
        raise ValidationError(_("The period starts after it ends."))
    if school_year_start(start_date) != school_year_start(end_date):
        raise ValidationError(_("A period belongs to one school year: it cannot run past 31 July."))
    period = period or AssessmentPeriod(policy=_policy_for_update())
    period.label, period.start_date, period.end_date = label.strip()[:100], start_date, end_date
    period.year_group = year_group
    period.save()
    return period


@transaction.atomic
def assessment_period_delete(*, period: AssessmentPeriod) -> None:
    period.delete()


def _a_year_on(day: date) -> date:
    """The same weekday about a year later (52 weeks on): STA windows keep their weekdays."""
    from datetime import timedelta

    return day + timedelta(weeks=52)


@transaction.atomic
def assessment_periods_carry(*, from_year: int) -> list[AssessmentPeriod]:
    """Copy the school year ``from_year``'s periods into the next school year, each moved 52
    weeks on (the same weekdays), for the school to check against the STA timetable. Refused
    if the next year already has periods."""
    from registers.school_year import school_year_start

    policy = _policy_for_update()
    periods = [a for a in policy.assessments.all() if school_year_start(a.start_date).year == from_year]
    if not periods:
        raise ValidationError(_("There are no assessment periods in %(year)s to carry forward.")
                              % {"year": rules._year_label(from_year)})
    if any(school_year_start(a.start_date).year == from_year + 1 for a in policy.assessments.all()):
        raise ValidationError(_("%(year)s already has assessment periods: edit them instead.")
                              % {"year": rules._year_label(from_year + 1)})
    return AssessmentPeriod.objects.bulk_create(
        AssessmentPeriod(policy=policy, label=a.label, start_date=_a_year_on(a.start_date),
                         end_date=_a_year_on(a.end_date), year_group=a.year_group) for a in periods)
