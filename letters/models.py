"""Letters and LA returns. Issue 4 queues letters; issue 5 renders and sends them."""

from django.db import models

from registers.models import Pupil


class Letter(models.Model):
    """A letter to a pupil's parents, queued by a trigger. One letter per trigger key."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RENDERED = "rendered", "Rendered"
        SENDING = "sending", "Sending by email"
        EMAILED = "emailed", "Emailed"
        CHECK = "check", "Needs checking: was it emailed?"
        PRINTED = "printed", "Printed"
        FAILED = "failed", "Failed"
        HELD = "held", "Held: a person decides"
        CANCELLED = "cancelled", "Cancelled"

    pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="letters")
    template_key = models.CharField(max_length=60)
    trigger_key = models.CharField(max_length=120)
    case = models.ForeignKey("escalation.Case", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="letters")
    night = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    context = models.JSONField(default=dict, blank=True, help_text="Merge figures at the time of the trigger")
    created = models.DateTimeField(auto_now_add=True)
    # Issue 5: rendering and delivery.
    batch = models.ForeignKey("Batch", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="letters")
    file = models.FileField(upload_to="letters/%Y/%m/", blank=True)
    pages = models.PositiveSmallIntegerField(default=0)
    recipients = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True, help_text="Why the letter failed")
    attempts = models.PositiveSmallIntegerField(default=0)
    rendered_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    emailed_to = models.CharField(max_length=300, blank=True)
    # Issue 11: claimed (status "sending", committed) before the email goes, the provider's
    # message id recorded after; a claim never followed by the id is for a person to check.
    claimed_at = models.DateTimeField(null=True, blank=True)
    provider_id = models.CharField(max_length=255, blank=True,
                                   help_text="The email provider's message id")
    printed_at = models.DateTimeField(null=True, blank=True)
    # Issue 12 item 10: why it might be wrong to send (letters.holds), and a person's decision.
    hold_reasons = models.JSONField(default=list, blank=True,
                                    help_text="Keys of letters.holds.REASONS that held the letter")
    decided_at = models.DateTimeField(null=True, blank=True, help_text="Released or cancelled at")
    decided_by_name = models.CharField(max_length=150, blank=True)
    cancel_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created", "-pk"]
        constraints = [models.UniqueConstraint(fields=["pupil", "trigger_key"],
                                               name="one_letter_per_trigger")]
        indexes = [models.Index(fields=["batch", "status"]),
                   models.Index(fields=["claimed_at"], name="letters_letter_sending",
                                condition=models.Q(status="sending"))]

    def __str__(self):
        return f"{self.template_key} for {self.pupil_id} ({self.status})"


# --- issue 5: rendering, delivery and LA returns ---------------------------------------

from django.conf import settings  # noqa: E402


class LetterSettings(models.Model):
    """The school's letter and return settings: one row per school (pk=1)."""

    class Every(models.TextChoices):
        OFF = "off", "Not scheduled (on demand only)"
        WEEKLY = "weekly", "Weekly"
        FORTNIGHTLY = "fortnightly", "Fortnightly"
        MONTHLY = "monthly", "Monthly"
        TERMLY = "termly", "Each half term (6 weeks)"

    signatory_name = models.CharField(max_length=120, blank=True,
                                      help_text="Who signs letters (the headteacher if blank)")
    signatory_title = models.CharField(max_length=120, default="Headteacher")
    attendance_lead = models.CharField(max_length=120, blank=True,
                                       help_text="Named in letters as the person to contact")
    letterhead_note = models.CharField(max_length=200, blank=True,
                                       help_text="Extra line under the school name (motto, website)")
    email_subject = models.CharField(max_length=200, default="A letter from {school}")
    email_body = models.TextField(default="Please find attached a letter from the school about "
                                          "{pupil}.\n\nThank you.")
    # Attendance return: "fails to attend regularly" (docs/domain.md 7) = persistent absence by
    # default; the LA's own definition is configurable.
    regular_absence_pct = models.DecimalField(
        "fails to attend regularly: absence % at or above", max_digits=5, decimal_places=2,
        default=10)
    regular_min_possible = models.PositiveSmallIntegerField(
        "…only once the pupil has this many possible sessions", default=20)
    continuous_days = models.PositiveSmallIntegerField(
        "continuous unauthorised absence (G, N, O, U): school days", default=10)
    sickness_days = models.PositiveSmallIntegerField(
        "sickness return: school days of illness (I), consecutive or cumulative", default=15)
    cme_days = models.PositiveSmallIntegerField(
        "missing from school: consecutive school days of unexplained absence (N, O)", default=10)
    new_pupil_due_days = models.PositiveSmallIntegerField(
        "new-pupil return due within (school days of entry)", default=5)
    exempt_junior_intake = models.BooleanField(
        "leave out pupils joining the most junior class on the first day of the year", default=True)
    attendance_every = models.CharField(max_length=12, choices=Every.choices, default=Every.MONTHLY)
    sickness_every = models.CharField(max_length=12, choices=Every.choices, default=Every.MONTHLY)
    cme_every = models.CharField(max_length=12, choices=Every.choices, default=Every.WEEKLY)
    new_pupils_every = models.CharField(max_length=12, choices=Every.choices, default=Every.WEEKLY)
    deletions_every = models.CharField(max_length=12, choices=Every.choices, default=Every.WEEKLY)
    # Issue 12 item 10: which reasons hold a queued letter until a person releases or cancels it.
    hold_medical = models.BooleanField("hold letters when medical evidence is on file", default=False)
    hold_send = models.BooleanField("hold letters for pupils with an EHC plan or SEN support", default=False)
    hold_part_time = models.BooleanField("hold letters for pupils on a part-time timetable", default=False)
    hold_bereavement = models.BooleanField("hold letters after a recent bereavement", default=False)
    hold_looked_after = models.BooleanField(
        "hold letters for looked-after children (talk to the social worker first)", default=False)

    class Meta:
        verbose_name_plural = "letter settings"

    def __str__(self):
        return "Letter and return settings"

    @classmethod
    def get(cls) -> "LetterSettings":
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj


class LetterTemplate(models.Model):
    """A school's letter or document template: sanitised HTML with merge fields."""

    class Kind(models.TextChoices):
        LETTER = "letter", "Letter (letterhead, address block and date)"
        DOCUMENT = "document", "Document (letterhead only: plans, contracts, forms)"

    key = models.SlugField(max_length=60, unique=True,
                           help_text="Used by escalation stages to name the template")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.LETTER)
    subject = models.CharField(max_length=200, blank=True, help_text="Email subject (optional)")
    body = models.TextField(help_text="HTML with merge fields such as {{ pupil.forename }}")
    active = models.BooleanField(default=True)
    preset = models.CharField(max_length=30, blank=True)
    updated = models.DateTimeField(auto_now=True)
    updated_by_name = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Batch(models.Model):
    """A set of letters rendered together: the nightly queue or a hand-picked set."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to start"
        RENDERING = "rendering", "Rendering"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Source(models.TextChoices):
        QUEUED = "queued", "Letters queued by the nightly job"
        PICKED = "picked", "Hand-picked pupils"

    label = models.CharField(max_length=200)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.PICKED)
    template = models.ForeignKey(LetterTemplate, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="batches")
    trigger_key = models.CharField(max_length=120, blank=True)
    send_email = models.BooleanField(default=True)
    as_of = models.DateField(null=True, blank=True,
                             help_text="Figures as on this day (default: the day it renders)")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    total = models.PositiveIntegerField(default=0)
    chunks_left = models.IntegerField(default=0, help_text="Render tasks still to report back")
    report = models.JSONField(default=dict, blank=True,
                              help_text="Pupils left out and why (already sent for this trigger...)")
    combined = models.FileField(upload_to="letters/batches/", blank=True)
    combined_pages = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+", db_constraint=False)
    created_by_name = models.CharField(max_length=150, blank=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-pk"]
        verbose_name_plural = "batches"

    def __str__(self):
        return self.label


class Chunk(models.Model):
    """Up to CHUNK_SIZE letters of a batch rendered by one Celery task (issue 11).

    Kept in the database so a chunk whose worker died, or whose enqueue failed because the
    broker was down, is found by the stall sweeper and handed to the queue again."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting for a worker"
        RUNNING = "running", "Running"
        DONE = "done", "Done"

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="chunks")
    letter_ids = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    sent_at = models.DateTimeField(null=True, blank=True,
                                   help_text="Last handed to the queue (empty: not yet)")
    sends = models.PositiveSmallIntegerField(default=0, help_text="Times handed to the queue")
    started_at = models.DateTimeField(null=True, blank=True)
    beat_at = models.DateTimeField(null=True, blank=True, help_text="Last sign of life")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["status"], name="letters_chunk_open",
                                condition=~models.Q(status="done"))]

    def __str__(self):
        return f"chunk {self.pk} of batch {self.batch_id} ({self.status})"


class LetterEvent(models.Model):
    """What happened to a letter: rendered, emailed to whom, printed, failed and why."""

    letter = models.ForeignKey(Letter, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    kind = models.CharField(max_length=20)
    detail = models.TextField(blank=True)
    user_name = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.kind}"


class LAReturn(models.Model):
    """A statutory return to the local authority (docs/domain.md section 7)."""

    class Kind(models.TextChoices):
        ATTENDANCE = "attendance", "Attendance return (irregular attendance, 10 days unauthorised)"
        SICKNESS = "sickness", "Sickness return (15 school days of illness)"
        NEW_PUPILS = "new_pupils", "New pupil return (added to the admission register)"
        DELETIONS = "deletions", "Deletion return (removed from the admission register)"
        CME = "cme", "Children missing education / missing from school"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft: to review"
        SUBMITTED = "submitted", "Submitted"

    kind = models.CharField(max_length=12, choices=Kind.choices)
    period_start = models.DateField()
    period_end = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    scheduled = models.BooleanField(default=False, help_text="Generated by the schedule")
    generated = models.DateTimeField(auto_now_add=True)
    generated_by_name = models.CharField(max_length=150, blank=True)
    notes = models.TextField(blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+",
                                     db_constraint=False)
    submitted_by_name = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-period_end", "kind", "-pk"]
        constraints = [models.UniqueConstraint(fields=["kind", "period_start", "period_end"],
                                               name="one_return_per_kind_period")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.period_start} – {self.period_end}"


class ReturnEntry(models.Model):
    """One pupil on a return, with the evidence that put them there."""

    la_return = models.ForeignKey(LAReturn, on_delete=models.CASCADE, related_name="entries")
    pupil = models.ForeignKey(Pupil, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    upn = models.CharField(max_length=13)
    legal_surname = models.CharField(max_length=100)
    legal_forename = models.CharField(max_length=100)
    date_of_birth = models.DateField(null=True, blank=True)
    year_group = models.CharField(max_length=20, blank=True)
    address = models.TextField(blank=True)
    reason = models.CharField(max_length=300)
    dates = models.CharField(max_length=300, blank=True)
    sessions = models.PositiveIntegerField(null=True, blank=True)
    codes = models.CharField(max_length=200, blank=True)
    evidence = models.JSONField(default=dict, blank=True)
    key = models.CharField(max_length=120, blank=True,
                           help_text="What was reported (e.g. the start of a continuous period)")
    included = models.BooleanField(default=True)
    note = models.TextField(blank=True, help_text="Attendance lead's note (e.g. why left out)")
    added_by_hand = models.BooleanField(default=False)
    edited_by_name = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["legal_surname", "legal_forename", "pk"]
        constraints = [models.UniqueConstraint(fields=["la_return", "upn"],
                                               name="one_entry_per_pupil_per_return")]

    def __str__(self):
        return f"{self.upn} {self.reason}"
