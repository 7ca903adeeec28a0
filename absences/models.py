"""What parents tell the school and how the school answers (docs/domain.md section 8).

Reported absences, leave-of-absence requests and the headteacher's decisions, the school's
leave rules as configuration rows, the unexplained-absence contact log and portal messages.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from registers.models import Pupil, Session


def _user_fk(**kw):
    # People live in the public schema: no database constraint across schemas.
    return models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+", db_constraint=False, **kw)


def evidence_path(report, filename: str) -> str:
    """A random name with the extension of the detected type (never the uploader's name):
    in the school's own media folder, which no URL serves (only the evidence view)."""
    import uuid

    ext = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
    return f"evidence/{uuid.uuid4().hex}.{ext}"


class AbsenceReport(models.Model):
    """A parent's report that a child is or will be absent (docs/domain.md section 8)."""

    class Reason(models.TextChoices):
        ILLNESS = "illness", _("Illness")
        MEDICAL = "medical", _("Medical or dental appointment")
        OTHER = "other", _("Other")
        # Not an absence: the child came in late today and the parent says why (issue 14).
        LATE_ARRIVAL = "late_arrival", _("Arrived late")

    class Status(models.TextChoices):
        NEW = "new", _("Waiting for the office")
        ACCEPTED = "accepted", _("Accepted")
        QUERIED = "queried", _("Queried")

    # The code the office is offered when it accepts a report with this reason.
    SUGGESTED_CODE = {"illness": "I", "medical": "M", "other": "N"}

    pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="absence_reports")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    first_day = models.DateField()
    first_session = models.CharField(max_length=2, choices=Session.choices, default=Session.AM)
    last_day = models.DateField()
    last_session = models.CharField(max_length=2, choices=Session.choices, default=Session.PM)
    details = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                    related_name="+", db_constraint=False)
    reported_at = models.DateTimeField(auto_now_add=True)
    response = models.TextField(blank=True)
    handled_by = _user_fk()
    handled_by_name = models.CharField(max_length=150, blank=True)
    handled_at = models.DateTimeField(null=True, blank=True)
    code_applied = models.CharField(max_length=2, blank=True)
    # Sent for today after the register for its first session had closed (issue 14): the
    # office sees it flagged, since that session is already marked.
    late = models.BooleanField(default=False)
    # A parent who phoned: the office recorded the report (accepted at once) on their behalf.
    taken_by = _user_fk()
    taken_by_name = models.CharField(max_length=150, blank=True,
                                     help_text=_("The member of staff who took the call."))
    caller = models.CharField(max_length=150, blank=True,
                              help_text=_("Who phoned, e.g. \"Mum (Pat Khan)\"."))
    # Evidence the parent attached (an appointment card): PDF, JPEG or PNG by content, ≤ 5 MB
    # (issue 14). Served only by absences.views.report_evidence, to staff and that parent.
    evidence = models.FileField(upload_to=evidence_path, blank=True)
    evidence_type = models.CharField(max_length=40, blank=True)
    # A late arrival (reason LATE_ARRIVAL, one session today): when the child came in, the
    # minutes late counted as the register counts them (from the session's "late after"
    # time) and the code that makes by the register times of that day (L before the register
    # closed, U after: registers.services.late_code).
    arrived_at = models.TimeField(null=True, blank=True)
    minutes_late = models.PositiveSmallIntegerField(null=True, blank=True)
    arrival_code = models.CharField(max_length=2, blank=True)

    class Meta:
        ordering = ["-reported_at"]
        indexes = [models.Index(fields=["first_day", "last_day"]),
                   models.Index(fields=["status", "first_day"])]
        constraints = [models.CheckConstraint(condition=models.Q(last_day__gte=models.F("first_day")),
                                              name="report_ends_after_start")]

    def __str__(self):
        return f"{self.pupil} {self.get_reason_display()} {self.first_day}–{self.last_day}"

    @property
    def suggested_code(self) -> str:
        if self.is_late_arrival:
            return self.arrival_code
        return self.SUGGESTED_CODE[self.reason]

    @property
    def is_late_arrival(self) -> bool:
        return self.reason == self.Reason.LATE_ARRIVAL

    @property
    def by_phone(self) -> bool:
        return bool(self.taken_by_name)

    @property
    def expected_return(self):
        """The parent's "expected back" date is the day after the last day absent."""
        from datetime import timedelta

        return self.last_day + timedelta(days=1)


class LeavePolicy(models.Model):
    """A school's leave-of-absence and reporting rules: one row per school schema.

    Rules are configuration, evaluated by ``absences.rules``; presets load the seed schools.
    """

    name = models.CharField(max_length=100, default="Leave of absence rules")
    notice_days = models.PositiveSmallIntegerField(
        default=0, help_text=_("Days of notice needed before the first day of leave (0: none)."))
    notice_months = models.PositiveSmallIntegerField(
        default=0, help_text=_("Calendar months of notice (Beecroft: one month). Added to the days."))
    no_retrospective = models.BooleanField(
        default=True, help_text=_("Requests for days that have already passed are not considered."))
    ro_days_cap = models.DecimalField(
        "religious observance days per school year", max_digits=4, decimal_places=1, null=True,
        blank=True, help_text=_("Blank: no cap. Beecroft: 2."))
    refuse_if_unauthorised = models.BooleanField(
        default=False, help_text=_("Refuse when the pupil has any unauthorised absence this school year."))
    refuse_if_authorised_above = models.DecimalField(
        max_digits=4, decimal_places=1, null=True, blank=True,
        help_text=_("Refuse when authorised absence this year is already above this % (St Luke's: 10)."))
    refuse_if_attendance_below = models.DecimalField(
        "refuse performance leave below attendance %", max_digits=4, decimal_places=1, null=True,
        blank=True, help_text=_(
            "Performance or activity leave (C1): refuse when granting the requested sessions "
            "would take the pupil's attendance this year below this % (St Luke's: 95). "
            "Blank: off."))
    assessment_days_before = models.PositiveSmallIntegerField(
        default=0, help_text=_("Days immediately before a statutory assessment period also refused."))
    written_response = models.BooleanField(
        default=True, help_text=_("Every request is answered by letter (Cheetwood)."))
    how_to_report = models.TextField(blank=True, help_text=_("Shown to parents: how to report an absence."))
    leave_guidance = models.TextField(blank=True, help_text=_("Shown to parents on the leave form."))
    office_email = models.EmailField(blank=True,
                                     help_text=_("Where reports are emailed (else the school's)."))

    class Meta:
        verbose_name_plural = "leave policies"

    def __str__(self):
        return self.name


class AssessmentPeriod(models.Model):
    """A statutory assessment period (KS2 tests, phonics check, multiplication tables check)."""

    policy = models.ForeignKey(LeavePolicy, on_delete=models.CASCADE, related_name="assessments")
    label = models.CharField(max_length=100)
    start_date = models.DateField()
    end_date = models.DateField()
    year_group = models.SmallIntegerField(null=True, blank=True,
                                          help_text=_("Only pupils in this year group (blank: all)."))

    class Meta:
        ordering = ["start_date"]

    def __str__(self):
        return f"{self.label} ({self.start_date} – {self.end_date})"


class LeaveRequest(models.Model):
    """A parent's request for leave of absence, with the rule results it was submitted with."""

    class Reason(models.TextChoices):
        EXCEPTIONAL = "exceptional", _("Exceptional circumstance")
        HOLIDAY = "holiday", _("Family holiday")
        RELIGIOUS = "religious", _("Religious observance")
        PERFORMANCE = "performance", _("Performance licence")
        MEDICAL = "medical", _("Medical")
        TRAVELLING = "travelling", _("Parent travelling for work (mobile family)")
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for the headteacher")
        GRANTED = "granted", _("Granted")
        PART_GRANTED = "part_granted", _("Partly granted")
        REFUSED = "refused", _("Refused")

    # The code a grant pre-fills by default (the head may choose another leave code).
    DEFAULT_CODE = {"exceptional": "C", "holiday": "C", "religious": "R", "performance": "C1", "medical": "M",
                    "travelling": "T", "other": "C"}

    pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="leave_requests")
    requested_by = _user_fk()
    requested_by_name = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    first_day = models.DateField()
    first_session = models.CharField(max_length=2, choices=Session.choices, default=Session.AM)
    last_day = models.DateField()
    last_session = models.CharField(max_length=2, choices=Session.choices, default=Session.PM)
    # The school sessions asked for, as ["2026-02-02 AM", ...], fixed at submission.
    sessions = models.JSONField(default=list)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    explanation = models.TextField()
    document = models.FileField(upload_to="leave/", blank=True)
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.PENDING)
    # [{"rule": ..., "passed": bool, "message": ...}] as the parent saw them.
    rule_results = models.JSONField(default=list)
    g_marked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "first_day"])]
        constraints = [models.CheckConstraint(condition=models.Q(last_day__gte=models.F("first_day")),
                                              name="leave_ends_after_start")]

    def __str__(self):
        return f"{self.pupil} {self.get_reason_display()} {self.first_day}–{self.last_day}"

    @property
    def days_requested(self) -> float:
        return len(self.sessions) / 2

    @property
    def rules_failed(self) -> list[dict]:
        return [r for r in self.rule_results if not r["passed"]]

    @property
    def default_code(self) -> str:
        return self.DEFAULT_CODE[self.reason]


class LeaveDecision(models.Model):
    """The headteacher's decision: how many sessions are granted, the code, and the letter."""

    class Outcome(models.TextChoices):
        GRANT_ALL = "granted", _("Granted in full")
        GRANT_SOME = "part_granted", _("Granted in part")
        REFUSE = "refused", _("Refused")

    LEAVE_CODES = ["C", "R", "M", "C1", "T"]

    request = models.OneToOneField(LeaveRequest, on_delete=models.CASCADE, related_name="decision")
    outcome = models.CharField(max_length=15, choices=Outcome.choices)
    code = models.CharField(max_length=2, blank=True)
    granted_sessions = models.JSONField(default=list)
    reason = models.TextField(blank=True, help_text=_("Reason for refusal, or conditions of the grant."))
    decided_by = _user_fk()
    decided_by_name = models.CharField(max_length=150)
    decided_by_role = models.CharField(max_length=40)
    decided_at = models.DateTimeField(auto_now_add=True)
    letter_html = models.TextField(blank=True)

    def __str__(self):
        return f"{self.get_outcome_display()} ({len(self.granted_sessions)} sessions)"

    @property
    def days_granted(self) -> float:
        return len(self.granted_sessions) / 2


class ContactAttempt(models.Model):
    """The office's log of trying to reach a family about an unexplained absence."""

    class Outcome(models.TextChoices):
        CALLED = "called", _("Called, no answer")
        LEFT_MESSAGE = "left_message", _("Left a message")
        REASON_RECEIVED = "reason_received", _("Reason received")
        HOME_VISIT = "home_visit", _("Home visit")

    pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="contact_attempts")
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    note = models.CharField(max_length=500, blank=True)
    user = _user_fk()
    user_name = models.CharField(max_length=150)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["pupil", "at"])]

    def __str__(self):
        return f"{self.pupil_id} {self.outcome} {self.at:%Y-%m-%d %H:%M}"


class PortalMessage(models.Model):
    """A message to a parent shown in the portal (decisions, report outcomes)."""

    pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="portal_messages")
    recipient = _user_fk()
    subject = models.CharField(max_length=200)
    body = models.TextField()
    link = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.subject


class MessageSettings(models.Model):
    """A school's first-day message: one row per school schema (``get``)."""

    DEFAULT_TEMPLATE = "{forename} is not in school today. Please reply or call {school_phone}."

    template = models.TextField(
        default=DEFAULT_TEMPLATE,
        help_text=_("Merge fields: {forename}, {surname}, {school}, {school_phone}, {date}, "
                    "{session}, {contact}."))
    DEFAULT_SUBJECT = "{forename} is not in school today"
    email_subject = models.CharField(max_length=200, default=DEFAULT_SUBJECT)
    send_on_close = models.BooleanField(
        "send automatically when the register closes", default=False,
        help_text=_("Within an hour of each register closing, message every family of a pupil "
                    "then marked N who has not had a message for that session."))
    text_when_school_writes = models.BooleanField(
        "also text families when the school writes", default=False,
        help_text=_("When a letter is issued, a leave request decided or a report queried, the "
                    "family gets a portal message and an email; tick to send a text as well."))

    class Meta:
        verbose_name_plural = "message settings"

    def __str__(self):
        return "First-day message"

    @classmethod
    def get(cls) -> "MessageSettings":
        """The school's row, or the defaults unsaved (reading never writes)."""
        return cls.objects.order_by("pk").first() or cls()


class ContactPreference(models.Model):
    """How a contact would like school messages (registers.Contact has only the details)."""

    class Channel(models.TextChoices):
        AUTO = "auto", _("Text if there is a mobile number, else email")
        SMS = "sms", _("Text message")
        EMAIL = "email", _("Email")
        BOTH = "both", _("Text message and email")

    contact = models.OneToOneField("registers.Contact", on_delete=models.CASCADE,
                                   related_name="message_preference")
    channel = models.CharField(max_length=5, choices=Channel.choices, default=Channel.AUTO)
    # The family's language for the portal, emails, texts and letters (a code from
    # settings.LANGUAGES; blank: English). Chosen by the parent in the portal (issue 14).
    language = models.CharField(max_length=10, blank=True, default="")

    def __str__(self):
        return f"{self.contact}: {self.get_channel_display()}"


class FamilyMessage(models.Model):
    """One text message or email to a family about a first-day absence: the contact log's
    record of it and its delivery status. Claimed before sending, provider id after."""

    class Channel(models.TextChoices):
        SMS = "sms", _("Text message")
        EMAIL = "email", _("Email")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")
        CHECK = "check", _("Needs checking")

    FINAL = (Status.DELIVERED, Status.FAILED)

    pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="family_messages")
    contact = models.ForeignKey("registers.Contact", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    contact_name = models.CharField(max_length=200, blank=True)
    date = models.DateField()
    session = models.CharField(max_length=2, choices=Session.choices)
    channel = models.CharField(max_length=5, choices=Channel.choices)
    to = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    provider_id = models.CharField(max_length=255, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_by = _user_fk()
    created_by_name = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    status_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["date", "session"]), models.Index(fields=["status"])]
        constraints = [models.UniqueConstraint(
            fields=["pupil", "date", "session", "channel"], condition=~models.Q(status="failed"),
            name="one_live_message_per_absence_channel")]

    def __str__(self):
        return f"{self.pupil_id} {self.channel} {self.date} {self.session} {self.status}"


class ParentNotice(models.Model):
    """An email or text telling a family the school has written (a letter issued, a leave
    decision, a report queried: issue 14), in the contact's language. One per (what was
    written, channel, address); claimed before sending like ``FamilyMessage``."""

    class Channel(models.TextChoices):
        SMS = "sms", _("Text message")
        EMAIL = "email", _("Email")

    Status = FamilyMessage.Status

    pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="parent_notices")
    contact = models.ForeignKey("registers.Contact", null=True, blank=True,
                                on_delete=models.SET_NULL, related_name="+")
    key = models.CharField(max_length=120, help_text=_("What was written, e.g. leave-decision:12."))
    channel = models.CharField(max_length=5, choices=Channel.choices)
    to = models.CharField(max_length=254)
    language = models.CharField(max_length=10, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    html = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=FamilyMessage.Status.choices,
                              default=FamilyMessage.Status.QUEUED)
    provider_id = models.CharField(max_length=255, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status"])]
        constraints = [models.UniqueConstraint(fields=["key", "channel", "to"],
                                               name="one_notice_per_writing_channel_address")]

    def __str__(self):
        return f"{self.key} {self.channel} {self.to} {self.status}"


class RegisterReminderSettings(models.Model):
    """Issue 17: remind a teacher whose register is still not taken a set number of minutes
    after it closed. One row per school schema (``get``); no minutes: no automatic reminder."""

    minutes_after_close = models.PositiveSmallIntegerField(
        "remind automatically this many minutes after the register closes", null=True, blank=True,
        help_text=_("Leave empty to remind only when the office presses Remind."))

    class Meta:
        verbose_name_plural = "register reminder settings"

    def __str__(self):
        return "Register reminders"

    @classmethod
    def get(cls) -> "RegisterReminderSettings":
        return cls.objects.order_by("pk").first() or cls()


class StaffMobile(models.Model):
    """A member of staff's mobile number for register reminders by text (the school's own
    record: people live in the public schema, their numbers with the school that uses them)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="+", db_constraint=False)
    mobile = models.CharField(max_length=40)

    def __str__(self):
        return f"{self.user_id}: {self.mobile}"


class RegisterReminder(models.Model):
    """A reminder sent to a teacher that a register is not taken. An automatic reminder is
    sent at most once per teacher and session (the constraint makes a second one fail)."""

    group = models.ForeignKey("registers.RegistrationGroup", on_delete=models.CASCADE,
                              related_name="+")
    teacher = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="+", db_constraint=False)
    date = models.DateField()
    session = models.CharField(max_length=2, choices=Session.choices)
    automatic = models.BooleanField(default=False)
    channels = models.CharField(max_length=40, blank=True)  # "email", "email,sms"
    error = models.CharField(max_length=500, blank=True)
    sent_by_name = models.CharField(max_length=150, blank=True)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-sent_at"]
        indexes = [models.Index(fields=["date", "session"])]
        constraints = [models.UniqueConstraint(
            fields=["teacher", "date", "session"], condition=models.Q(automatic=True),
            name="one_automatic_reminder_per_teacher_session")]

    def __str__(self):
        return f"{self.teacher_id} {self.group_id} {self.date} {self.session}"
