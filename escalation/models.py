"""The school's attendance policy as configuration, and what the nightly job did with it.

Configuration: band sets, graduated-response stages, and a PolicyVersion row written on
every change (so a past decision can be explained by the rule in force that night).
Results: PupilSnapshot (one row per pupil per night), Case / CaseEvent (the attendance
officer's queue and its chronology), meetings, support plans, contracts, penalty notices.
"""

from django.conf import settings
from django.db import models

from registers.models import Contact, Pupil
from tenants.roles import Role


class BandSet(models.Model):
    """A named set of contiguous attendance bands. One is active at a time."""

    name = models.CharField(max_length=100)
    active = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["active"], condition=models.Q(active=True),
                                               name="one_active_band_set")]

    def __str__(self):
        return self.name


class Band(models.Model):
    """A range of attendance %; ``None`` bounds are open (0 or 100)."""

    band_set = models.ForeignKey(BandSet, on_delete=models.CASCADE, related_name="bands")
    name = models.CharField(max_length=50)
    colour = models.CharField(max_length=7, help_text="e.g. #2e7d32")
    lower = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    lower_inclusive = models.BooleanField(default=True)
    upper = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    upper_inclusive = models.BooleanField(default=False)
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["band_set", "-upper"]

    def __str__(self):
        return self.name

    def contains(self, pct: float) -> bool:
        if self.lower is not None:
            lo = float(self.lower)
            if pct < lo or (pct == lo and not self.lower_inclusive):
                return False
        if self.upper is not None:
            hi = float(self.upper)
            if pct > hi or (pct == hi and not self.upper_inclusive):
                return False
        return True


class PolicyVersion(models.Model):
    """A numbered snapshot of the active bands and stages, written on every change."""

    number = models.PositiveIntegerField(unique=True)
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+", db_constraint=False)
    note = models.CharField(max_length=200, blank=True)
    snapshot = models.JSONField(default=dict)

    class Meta:
        ordering = ["-number"]

    def __str__(self):
        return f"v{self.number}"


class Trigger(models.TextChoices):
    BELOW = "below", "Attendance below X%"
    PERSISTENT = "persistent", "Persistent absence (absence ≥ 10%)"
    SEVERE = "severe", "Severe absence (absence ≥ 50%)"
    BELOW_DECLINING = "below_declining", "Attendance below X% and declining"
    UNAUTHORISED = "unauthorised", "N unauthorised sessions in the window"
    CONTINUOUS = "continuous", "Continuous absence for N school days"
    U_COUNT = "u_count", "N late-after-close (U) marks in the window"
    NO_CONTACT = "no_contact", "No contact (N or O only) for N school days"
    LATE_COUNT = "late_count", "N late (L) marks in the window"
    MINUTES_LATE = "minutes_late", "N minutes late (L marks) in the window"
    DAYS_ABSENT = "days_absent", "More than N school days absent in the window"
    MON_FRI = "mon_fri", "X% or more of absent sessions on Mondays and Fridays (at least N absent)"
    NEXT_TO_BREAK = "next_to_break", ("X% or more of absent sessions next to a weekend or holiday "
                                      "(at least N absent)")
    AT_RISK_PA = "at_risk_pa", ("At risk of persistent absence (early warning: projected to reach 10% "
                                "absence by the end of the year, a sharp fall, or PA last year)")
    MANUAL = "manual", "None: reached only as the next stage or by hand"


class Window(models.TextChoices):
    YTD = "ytd", "Year to date"
    TERM = "term", "This term"
    LAST_4_WEEKS = "last_4_weeks", "Last 4 school weeks"
    ROLLING_WEEKS = "rolling_weeks", "Rolling N school weeks"
    MONTHS = "months", "Last N calendar months"


class MeetingType(models.TextChoices):
    SUPPORT = "attendance_support", "Attendance Support Meeting"
    CONTRACT = "attendance_contract", "Attendance Contract Meeting"
    SAP = "sap", "School Attendance Panel (SAP) meeting"
    PANEL = "panel", "Attendance Panel"
    PARENT = "parent", "Meeting with parents"
    FORMAL = "formal", "Formal meeting"


DEFAULT_MIN_POSSIBLE = 40  # four school weeks of sessions before a percentage trigger counts


class Stage(models.Model):
    """One step of the graduated response (docs/domain.md section 5).

    Stages of the same ``track`` form a ladder of rungs ordered by ``order``: a pupil has at
    most one live case per track. It opens at the lowest rung whose trigger holds (or at a
    ``direct_entry`` stage), climbs one rung at a time at a review that finds no improvement
    when the next rung's condition holds, and steps down or closes once the figure has stayed
    recovered for ``exit_after_days`` (escalation.ladder).
    """

    key = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    track = models.SlugField(max_length=30, default="attendance",
                             help_text="Stages of one track form one ladder; one live case per track.")
    order = models.PositiveSmallIntegerField(default=1)
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    threshold = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True,
                                    help_text="X for 'below X%' triggers; the share of absences (%) for "
                                              "a pattern trigger")
    threshold_inclusive = models.BooleanField(default=False, help_text="'at or below' instead of 'below'")
    band = models.CharField(
        max_length=50, blank=True,
        help_text="Follow this band of the active band set: the threshold and its edge are the band's upper "
                  "edge, and move when the school changes its bands")
    count = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="N for count, lateness, days-absent and continuous-absence "
                                         "triggers; for a pattern, the fewest absent sessions")
    window = models.CharField(max_length=20, choices=Window.choices, default=Window.YTD)
    window_n = models.PositiveSmallIntegerField(null=True, blank=True,
                                                help_text="N for rolling weeks or months")
    min_possible = models.PositiveSmallIntegerField(
        default=DEFAULT_MIN_POSSIBLE,
        help_text="Percentage triggers wait until the window has this many possible sessions "
                  "(40 = four school weeks); 'declining' needs it in both windows compared")
    letter_template = models.CharField(max_length=60, blank=True)
    meeting_type = models.CharField(max_length=30, choices=MeetingType.choices, blank=True)
    task = models.CharField(max_length=300, blank=True)
    referral = models.CharField(max_length=200, blank=True)
    owner_role = models.CharField(max_length=30, choices=Role.choices, default=Role.ATTENDANCE_OFFICER)
    review_days = models.PositiveSmallIntegerField(default=14)
    monitor_school_days = models.PositiveSmallIntegerField(
        null=True, blank=True,
        help_text="Monitoring period: any unauthorised absence in it moves the case to the next stage")
    next_stage = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="previous_stages")
    description = models.TextField(blank=True)
    enforcement = models.BooleanField(
        default=False,
        help_text="Legal enforcement (penalty warnings and notices, legal action): only for pupils of "
                  "compulsory school age, counting sessions from the day they reached it")
    direct_entry = models.BooleanField(
        default=False, help_text="A case may open here (or jump here) without the stages below it, "
                                 "e.g. severe absence or a safeguarding concern")
    direct_entry_reason = models.CharField(max_length=300, blank=True,
                                           help_text="Why this stage may be entered directly")
    once_per_year = models.BooleanField(
        default=False, help_text="Act on this stage at most once per pupil per school year")
    exit_threshold = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True,
        help_text="Attendance % at or above which the pupil has recovered (blank: the trigger no "
                  "longer holds)")
    exit_after_days = models.PositiveSmallIntegerField(
        default=28, help_text="Days the figure must stay recovered before the case steps down or closes")
    recovery_letter = models.CharField(max_length=60, blank=True,
                                       help_text="Letter template queued when the case steps down or closes")
    recovery_task = models.CharField(max_length=300, blank=True,
                                     help_text="Task recorded when the case steps down or closes "
                                               "(e.g. a positive call home)")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["track", "order", "key"]

    def __str__(self):
        return self.name

    @property
    def actions(self) -> list[str]:
        out = []
        if self.letter_template:
            out.append(f"letter '{self.letter_template}'")
        if self.meeting_type:
            out.append(self.get_meeting_type_display())
        if self.task:
            out.append(self.task)
        if self.referral:
            out.append(f"referral: {self.referral}")
        if self.monitor_school_days:
            out.append(f"{self.monitor_school_days} school days of monitoring")
        return out


class NightlyRun(models.Model):
    """One execution of the nightly job for one school and night (each rerun is a row)."""

    class Status(models.TextChoices):
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    night = models.DateField(db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    started = models.DateTimeField()
    finished = models.DateTimeField()
    policy_version = models.ForeignKey(PolicyVersion, null=True, on_delete=models.PROTECT,
                                       related_name="+")
    summary = models.JSONField(default=dict)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started"]

    def __str__(self):
        return f"{self.night} {self.status}"


class PupilSnapshot(models.Model):
    """A pupil's figures on one night: the history behind trends, arrows and band moves."""

    # No index of its own: one_snapshot_per_night starts with the pupil. A school writes a
    # thousand rows a night, and every index costs on each. The policy version in force is the
    # night's NightlyRun's.
    pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="snapshots", db_index=False)
    night = models.DateField()
    possible = models.PositiveIntegerField()
    attended = models.PositiveIntegerField()
    authorised = models.PositiveIntegerField()
    unauthorised = models.PositiveIntegerField()
    u_count = models.PositiveIntegerField()
    attendance_pct = models.FloatField(null=True)
    band = models.CharField(max_length=50, blank=True)
    band_colour = models.CharField(max_length=7, blank=True)
    last4_pct = models.FloatField(null=True)
    prev4_pct = models.FloatField(null=True)
    trend = models.CharField(max_length=1, blank=True, help_text="+ improved, = same, - deteriorated")
    penalty_unauthorised = models.PositiveIntegerField(
        help_text="Unauthorised sessions in the rolling 10 school weeks (docs/domain.md section 6)")
    absent_days = models.PositiveSmallIntegerField(help_text="Current run of school days absent")
    no_contact_days = models.PositiveSmallIntegerField(help_text="Current run of school days N/O only")

    class Meta:
        ordering = ["-night"]
        constraints = [models.UniqueConstraint(fields=["pupil", "night"], name="one_snapshot_per_night")]
        indexes = [models.Index(fields=["night", "band"])]

    def __str__(self):
        return f"{self.pupil_id} {self.night} {self.attendance_pct}"


class Case(models.Model):
    """A pupil's escalation on one track: its current stage, owner and review date."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        HOLD = "hold", "On hold"
        CLOSED = "closed", "Closed"

    pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="cases")
    track = models.SlugField(max_length=30)
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="cases")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    opened_on = models.DateField()
    stage_since = models.DateField()
    review_due = models.DateField(null=True, blank=True)
    monitor_until = models.DateField(null=True, blank=True)
    told_on = models.DateField(
        null=True, blank=True,
        help_text="When the family was told at this stage (its letter sent, its meeting held, or the "
                  "warning recorded as issued): a monitoring period runs from this day, never from when "
                  "the letter was queued")
    owner_role = models.CharField(max_length=30, choices=Role.choices)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", db_constraint=False)
    policy_version = models.ForeignKey(PolicyVersion, null=True, on_delete=models.PROTECT, related_name="+")
    explanation = models.TextField(blank=True, help_text="Why the current stage applies")
    entry_measure = models.FloatField(null=True, help_text="The trigger's figure when the stage began")
    recovered_since = models.DateField(null=True, blank=True,
                                       help_text="First night of the current run of recovered figures")
    closed_on = models.DateField(null=True, blank=True)
    close_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["review_due", "pk"]
        constraints = [models.UniqueConstraint(
            fields=["pupil", "track"], condition=~models.Q(status="closed"),
            name="one_live_case_per_pupil_track")]

    def __str__(self):
        return f"{self.pupil} – {self.stage}"

    @property
    def due(self):
        return self.monitor_until or self.review_due

    @property
    def clock_waiting(self) -> bool:
        """A monitoring stage whose clock has not started: the family has not been told yet."""
        return (self.status == self.Status.OPEN and bool(self.stage.monitor_school_days)
                and self.monitor_until is None)

    @property
    def waiting_for(self) -> str:
        """What the held clock waits for, in words for the queue ("" when it is running)."""
        if not self.clock_waiting:
            return ""
        if self.stage.letter_template:
            return f"waiting for letter '{self.stage.letter_template}' to be sent"
        if self.stage.meeting_type:
            return f"waiting for the {self.stage.get_meeting_type_display()} to be held"
        return "waiting for the warning to be recorded as issued"


class CaseEvent(models.Model):
    """The chronology: what the job or a person did, when and why (docs/architecture.md)."""

    class Kind(models.TextChoices):
        OPENED = "opened", "Case opened"
        ADVANCED = "advanced", "Moved to the next stage"
        STEPPED_DOWN = "stepped_down", "Stepped down"
        TASK = "task", "Task"
        REVIEW = "review", "Review"
        MONITORING = "monitoring", "Monitoring"
        TOLD = "told", "Family told: the clock starts"
        LETTER = "letter", "Letter queued"
        CONTACT = "contact", "Contact"
        MEETING = "meeting", "Meeting"
        OUTCOME = "outcome", "Outcome"
        REFERRAL = "referral", "Referral"
        HOLD = "hold", "Put on hold"
        LETTER_HELD = "letter_held", "Letter held for a person to decide"
        RESUMED = "resumed", "Resumed"
        CLOSED = "closed", "Closed"
        NOTE = "note", "Note"
        PLAN = "plan", "Support plan / contract"
        PENALTY = "penalty", "Penalty notice"
        OWNER = "owner", "Owner changed"

    class Channel(models.TextChoices):
        CALL = "call", "Phone call"
        TEXT = "text", "Text message"
        EMAIL = "email", "Email"
        HOME_VISIT = "home_visit", "Home visit"
        IN_PERSON = "in_person", "In person"
        LETTER = "letter", "Letter"

    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="case_events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    channel = models.CharField(max_length=20, choices=Channel.choices, blank=True)
    night = models.DateField(null=True, blank=True, help_text="Set when the nightly job wrote it")
    at = models.DateTimeField()
    stage = models.ForeignKey(Stage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+", db_constraint=False)
    user_name = models.CharField(max_length=150)
    detail = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    policy_version = models.ForeignKey(PolicyVersion, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="+")
    key = models.CharField(max_length=120, null=True, blank=True,
                           help_text="Idempotency key of an automatic event")

    class Meta:
        ordering = ["at", "pk"]
        constraints = [models.UniqueConstraint(fields=["pupil", "key"], name="one_event_per_key")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d} {self.get_kind_display()}"


class Meeting(models.Model):
    """An Attendance Support / Contract / SAP meeting; its date and time flow into letters."""

    class Status(models.TextChoices):
        TO_ARRANGE = "to_arrange", "To arrange"
        SCHEDULED = "scheduled", "Scheduled"
        HELD = "held", "Held"
        MISSED = "missed", "Parent did not attend"
        CANCELLED = "cancelled", "Cancelled"

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="meetings")
    kind = models.CharField(max_length=30, choices=MeetingType.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.TO_ARRANGE)
    starts_at = models.DateTimeField(null=True, blank=True)
    location = models.CharField(max_length=200, blank=True)
    attendees = models.CharField(max_length=300, blank=True)
    outcome = models.TextField(blank=True)
    stage = models.ForeignKey(Stage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["starts_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["case", "stage", "kind"],
                                               name="one_meeting_per_stage")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.starts_at or ''}"


class SupportPlan(models.Model):
    """Attendance Targeted Support Plan (LAP annex 6b)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="support_plans")
    meeting_date = models.DateField("date of targeted attendance meeting")
    present = models.CharField("present at the meeting", max_length=300, blank=True)
    apologies = models.CharField(max_length=300, blank=True)
    figures = models.JSONField(default=dict,
                               help_text="Attendance, authorised, unauthorised, lates at the meeting")
    part_time_timetable = models.TextField("part-time timetable and start date", blank=True)
    send_status = models.CharField("SEND status", max_length=200, blank=True)
    barriers_school = models.TextField("barriers to attending school: school's views", blank=True)
    barriers_family = models.TextField("barriers to attending school: parent's / child's views", blank=True)
    agreed_actions = models.TextField("agreed action")
    review_date = models.DateField()
    signed_parent = models.BooleanField(default=False)
    signed_school = models.BooleanField(default=False)
    signed_child = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-meeting_date", "-pk"]

    def __str__(self):
        return f"Support plan {self.meeting_date}"


class AttendanceContract(models.Model):
    """Attendance Contract (LAP annexes 7b and 7c)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="contracts")
    joined_school = models.CharField("joined the school (when, which year group)", max_length=200, blank=True)
    start_date = models.DateField("date the contract started")
    meeting_date = models.DateField("meeting date", null=True, blank=True)
    figures = models.JSONField(default=dict, help_text="Current attendance broken down at the meeting")
    last_in_school = models.CharField("if not in school: when last in school / contact", max_length=300,
                                      blank=True)
    part_time_timetable = models.TextField(blank=True)
    previous_years = models.CharField("previous years' attendance", max_length=300, blank=True)
    send_status = models.CharField("SEND status (wave, date joined register)", max_length=300, blank=True)
    social_care = models.CharField("social care level and history", max_length=300, blank=True)
    professionals = models.TextField("professionals involved (role and name)", blank=True)
    siblings = models.TextField("siblings: current attendance and school", blank=True)
    barriers_school = models.TextField("barriers: school's views", blank=True)
    barriers_parent = models.TextField("barriers: parent's views", blank=True)
    barriers_child = models.TextField("barriers: child's views", blank=True)
    interventions = models.TextField(
        "interventions / support / signposting offered, details and intended impact, one per line")
    attendance_target = models.CharField("attendance target (how much of each week, and %)", max_length=200)
    timescale = models.CharField("timescale for improvement (3 to 12 months)", max_length=100)
    review_arrangements = models.TextField("date / venue of review meetings", blank=True)
    review_date = models.DateField("next formal review")
    other_business = models.TextField("any other business", blank=True)
    closed_date = models.DateField(null=True, blank=True)
    closure_reason = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-start_date", "-pk"]

    def __str__(self):
        return f"Attendance contract {self.start_date}"


class ContractSignature(models.Model):
    """The contract's signature block as it happened (LAP annex 7b): who signed, when, and
    whether in person at the meeting or on a paper copy returned to the school."""

    class Signatory(models.TextChoices):
        PARENT = "parent", "Parent / carer"
        SCHOOL = "school", "School"
        CHILD = "child", "Child"
        PROFESSIONAL = "professional", "Other professional"

    class How(models.TextChoices):
        IN_PERSON = "in_person", "In person at the meeting"
        PAPER = "paper", "On paper (a signed copy returned)"

    contract = models.ForeignKey(AttendanceContract, on_delete=models.CASCADE, related_name="signatures")
    signatory = models.CharField(max_length=15, choices=Signatory.choices)
    name = models.CharField(max_length=150)
    signed_on = models.DateField()
    how = models.CharField(max_length=10, choices=How.choices)
    recorded_by_name = models.CharField(max_length=150)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["signed_on", "pk"]

    def __str__(self):
        return f"{self.name} ({self.get_signatory_display()}) {self.signed_on}"


class PenaltyNotice(models.Model):
    """A Notice to Improve or penalty notice to one parent for one child (docs/domain.md section 6)."""

    class Kind(models.TextChoices):
        NOTICE_TO_IMPROVE = "nti", "Notice to Improve"
        PENALTY = "penalty", "Penalty notice"

    class Status(models.TextChoices):
        ISSUED = "issued", "Issued"
        PAID = "paid", "Paid"
        UNPAID = "unpaid", "Unpaid: referred for prosecution (s444)"
        WITHDRAWN = "withdrawn", "Withdrawn"

    pupil = models.ForeignKey(Pupil, on_delete=models.PROTECT, related_name="penalty_notices")
    parent = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="penalty_notices")
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    issued_on = models.DateField()
    window_start = models.DateField()
    window_end = models.DateField()
    unauthorised_sessions = models.PositiveSmallIntegerField()
    sequence = models.PositiveSmallIntegerField(default=0, help_text="1st or 2nd notice in 3 years")
    amount_early = models.PositiveSmallIntegerField(null=True, blank=True,
                                                    help_text="£ if paid within 21 days")
    amount = models.PositiveSmallIntegerField(null=True, blank=True, help_text="£ if paid within 28 days")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ISSUED)
    paid_on = models.DateField(null=True, blank=True)
    amount_paid = models.PositiveSmallIntegerField(null=True, blank=True, help_text="£ paid")
    referred_on = models.DateField(null=True, blank=True,
                                   help_text="Unpaid after 28 days: referred for prosecution (s444) on")
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+", db_constraint=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-issued_on", "-pk"]
        constraints = [models.UniqueConstraint(fields=["pupil", "parent", "kind", "window_start"],
                                               name="one_notice_per_parent_child_window")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.issued_on}"
