"""Pupils, the admission register, the school calendar, marks and their amendments."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from .codes import CODES

YEAR_GROUPS = [(-2, "Nursery 1"), (-1, "Nursery 2"), (0, "Reception")] + [
    (n, f"Year {n}") for n in range(1, 15)
]
YEAR_GROUP_CODES = {"N1": -2, "N2": -1, "R": 0, **{str(n): n for n in range(1, 15)}}


def year_group_from_text(value: str) -> int | None:
    """The NC year a person typed or a file holds: "R", "Reception", "4", "Y4", "Year 4", "N1".

    None when it is not a year group (the caller says so; it never raises).
    """
    text = " ".join(str(value).upper().split())
    if text == "RECEPTION":
        text = "R"
    for prefix in ("YEAR ", "YEAR", "Y"):
        if text.startswith(prefix) and text[len(prefix):] in YEAR_GROUP_CODES:
            text = text[len(prefix):]
            break
    return YEAR_GROUP_CODES.get(text)


class Session(models.TextChoices):
    AM = "AM", "AM"
    PM = "PM", "PM"


class CalendarEntry(models.Model):
    """A term (span of school days) or a closure inside a term (INSET, bank holiday)."""

    class Kind(models.TextChoices):
        TERM = "term", "Term"
        CLOSURE = "closure", "Closure (#)"

    kind = models.CharField(max_length=10, choices=Kind.choices)
    start_date = models.DateField()
    end_date = models.DateField()
    label = models.CharField(max_length=100)

    class Meta:
        ordering = ["start_date", "kind"]
        verbose_name_plural = "calendar entries"

    def __str__(self):
        return f"{self.label} ({self.start_date} – {self.end_date})"


class SchoolDay(models.Model):
    """Each weekday inside a term, derived from the calendar.

    A closed day (INSET, bank holiday) is kept with ``closed=True`` so it can show as #,
    but only open days are sessions. ``week`` is the Monday of its week: rolling
    "school week" windows are computed from it.
    """

    date = models.DateField(primary_key=True)
    term = models.CharField(max_length=100)
    week = models.DateField(db_index=True)
    closed = models.BooleanField(default=False)
    closure_label = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["date"]

    def __str__(self):
        return f"{self.date} ({'closed' if self.closed else self.term})"


class RegistrationGroup(models.Model):
    """A class / tutor group. Teachers are people from the shared user table."""

    name = models.CharField(max_length=40, unique=True)
    year_group = models.SmallIntegerField(choices=YEAR_GROUPS)
    teachers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True,
                                      related_name="registration_groups")

    class Meta:
        ordering = ["year_group", "name"]

    def __str__(self):
        return self.name


class DeletionGround(models.TextChoices):
    """Grounds for deletion from the admission register (2024 regulations, reg. 9)."""

    OTHER_SCHOOL = "other_school", "Registered as a pupil at another school"
    NURSERY_COMPLETED = "nursery_completed", "Completed nursery and not transferring to reception"
    HOME_EDUCATION = "home_education", "Parent notified in writing of education otherwise than at school"
    MOVED_AWAY = "moved_away", "Ceased to reside within reasonable distance"
    MEDICAL = "medical", "Certified medically unfit to attend until past compulsory school age"
    CUSTODY = "custody", "In custody for more than four months"
    DIED = "died", "Died"
    PERMANENT_EXCLUSION = "permanent_exclusion", "Permanently excluded"
    CEASED_CSA = "ceased_csa", "Ceased to be of compulsory school age"
    TWENTY_DAYS = "twenty_days", "Continuously absent 20+ school days (G, N or O) after joint enquiries"
    NOT_RETURNED = "not_returned", "Failed to return after leave within 10 school days"
    OTHER = "other", "Other ground under regulation 9"


class Ethnicity(models.TextChoices):
    """The DfE school census main ethnicity codes (CBDS field 'Ethnicity'); blank: not recorded."""

    WBRI = "WBRI", "White – British"
    WIRI = "WIRI", "White – Irish"
    WIRT = "WIRT", "Traveller of Irish heritage"
    WOTH = "WOTH", "Any other White background"
    WROM = "WROM", "Gypsy / Roma"
    MWBC = "MWBC", "White and Black Caribbean"
    MWBA = "MWBA", "White and Black African"
    MWAS = "MWAS", "White and Asian"
    MOTH = "MOTH", "Any other mixed background"
    AIND = "AIND", "Indian"
    APKN = "APKN", "Pakistani"
    ABAN = "ABAN", "Bangladeshi"
    AOTH = "AOTH", "Any other Asian background"
    BCRB = "BCRB", "Black Caribbean"
    BAFR = "BAFR", "Black – African"
    BOTH = "BOTH", "Any other Black background"
    CHNE = "CHNE", "Chinese"
    OOTH = "OOTH", "Any other ethnic group"
    REFU = "REFU", "Refused"
    NOBT = "NOBT", "Information not yet obtained"


ETHNICITY_NOT_RECORDED = "Not recorded"


# Child-protection / child-in-need details: only tenants.roles.SAFEGUARDING_READERS see them.
SAFEGUARDING_DETAILS = ("child_protection", "social_worker")
DSL_MARKER = "See the DSL"


class Pupil(models.Model):
    """A pupil and their admission-register entry (docs/domain.md section 1)."""

    class Gender(models.TextChoices):
        FEMALE = "F", "Female"
        MALE = "M", "Male"
        OTHER = "U", "Unknown / other"

    class SEN(models.TextChoices):
        NONE = "N", "No SEN"
        SUPPORT = "K", "SEN support"
        EHCP = "E", "EHC plan"

    upn = models.CharField("UPN", max_length=13, unique=True)
    legal_surname = models.CharField(max_length=100)
    legal_forename = models.CharField(max_length=100)
    preferred_surname = models.CharField(max_length=100, blank=True)
    preferred_forename = models.CharField(max_length=100, blank=True)
    date_of_birth = models.DateField()
    gender = models.CharField(max_length=1, choices=Gender.choices)
    year_group = models.SmallIntegerField(choices=YEAR_GROUPS)
    registration_group = models.ForeignKey(RegistrationGroup, on_delete=models.PROTECT,
                                           related_name="pupils")
    admission_date = models.DateField()
    leaving_date = models.DateField(null=True, blank=True)
    deletion_ground = models.CharField(max_length=30, choices=DeletionGround.choices, blank=True)
    pupil_premium = models.BooleanField("pupil premium", default=False)
    fsm = models.BooleanField("FSM eligible", default=False)
    eal = models.BooleanField("EAL", default=False)
    ethnicity = models.CharField(max_length=4, choices=Ethnicity.choices, blank=True,
                                 help_text="DfE census main ethnicity code; blank: not recorded")
    sen_status = models.CharField("SEN", max_length=1, choices=SEN.choices, default=SEN.NONE)
    lac = models.BooleanField("looked after", default=False)
    child_protection = models.BooleanField("CP / CIN", default=False)
    young_carer = models.BooleanField(default=False)
    social_worker = models.BooleanField(default=False)
    medical_notes = models.CharField(max_length=200, blank=True)
    medical_evidence = models.BooleanField(
        "medical evidence on file", default=False,
        help_text="A doctor's or consultant's letter about the child's health is on file")
    bereaved_on = models.DateField("bereavement (date)", null=True, blank=True,
                                   help_text="A recent bereavement in the family")
    address = models.TextField(blank=True)
    photo = models.ImageField(upload_to="photos/", blank=True)

    class Meta:
        ordering = ["legal_surname", "legal_forename"]
        indexes = [models.Index(fields=["registration_group", "legal_surname"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(leaving_date__isnull=True)
                | models.Q(leaving_date__gte=models.F("admission_date")),
                name="leaving_after_admission",
            ),
        ]

    def __str__(self):
        return f"{self.display_name} ({self.upn})"

    @property
    def forename(self) -> str:
        return self.preferred_forename or self.legal_forename

    @property
    def surname(self) -> str:
        return self.preferred_surname or self.legal_surname

    @property
    def display_name(self) -> str:
        return f"{self.forename} {self.surname}"

    def _flags(self, safeguarding: bool) -> list[str]:
        out = []
        if self.sen_status == self.SEN.EHCP:
            out.append("EHCP")
        elif self.sen_status == self.SEN.SUPPORT:
            out.append("SEN")
        for attr, label in (("pupil_premium", "PP"), ("eal", "EAL"), ("lac", "LAC"),
                            ("child_protection", "CP"), ("social_worker", "SW"),
                            ("young_carer", "YC")):
            if getattr(self, attr) and (safeguarding or attr not in SAFEGUARDING_DETAILS):
                out.append(label)
        if not safeguarding and any(getattr(self, a) for a in SAFEGUARDING_DETAILS):
            out.append(DSL_MARKER)
        if self.medical_notes:
            out.append("Medical")
        return out

    @property
    def flags(self) -> list[str]:
        """Short flags shown on registers and lists, safe for any member of staff: child
        protection / child in need details are replaced by a neutral "see the DSL" marker."""
        return self._flags(safeguarding=False)

    @property
    def safeguarding_flags(self) -> list[str]:
        """The flags with child-protection details, for SAFEGUARDING_READERS only."""
        return self._flags(safeguarding=True)

    def on_roll(self, day) -> bool:
        return self.admission_date <= day and (self.leaving_date is None or day <= self.leaving_date)


class Contact(models.Model):
    """A parent or carer, in priority order. ``user`` links a portal login."""

    pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="contacts")
    priority = models.PositiveSmallIntegerField(default=1)
    title = models.CharField(max_length=20, blank=True)
    forename = models.CharField(max_length=100)
    surname = models.CharField(max_length=100)
    relationship = models.CharField(max_length=40, default="Parent")
    parental_responsibility = models.BooleanField(default=True)
    correspondence = models.BooleanField("flagged for correspondence", default=False)
    phone = models.CharField(max_length=40, blank=True)
    mobile = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    address = models.TextField(blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="+", db_constraint=False)

    class Meta:
        ordering = ["pupil", "priority"]
        # Deferred: an import that swaps two contacts' priorities updates both rows in place.
        constraints = [models.UniqueConstraint(fields=["pupil", "priority"],
                                               name="unique_contact_priority",
                                               deferrable=models.Deferrable.DEFERRED)]

    def __str__(self):
        return f"{self.title} {self.forename} {self.surname}".strip()

    @property
    def salutation(self) -> str:
        return f"Dear {self.title} {self.surname}" if self.title else f"Dear {self.forename} {self.surname}"

    @property
    def best_phone(self) -> str:
        return self.mobile or self.phone


CODE_CHOICES = [(c, f"{c} – {v.meaning}") for c, v in CODES.items()]


class Mark(models.Model):
    """One register entry: a pupil, a date, a session and a national code."""

    # No separate index on pupil or recorded_by: the unique (pupil, date, session) index
    # serves pupil lookups, and nothing queries by recorder. Fewer indexes, faster imports.
    pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="marks", db_index=False)
    date = models.DateField()
    session = models.CharField(max_length=2, choices=Session.choices)
    code = models.CharField(max_length=2, choices=CODE_CHOICES)
    minutes_late = models.PositiveSmallIntegerField(null=True, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+",
                                    db_constraint=False, db_index=False)
    recorded_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["pupil", "date", "session"],
                                               name="one_mark_per_session")]
        indexes = [
            models.Index(fields=["date", "session"]),
            # Unexplained absences (N) are looked up every night and on every worklist.
            models.Index(fields=["date"], condition=models.Q(code="N"), name="mark_unexplained_idx"),
        ]

    def __str__(self):
        return f"{self.pupil_id} {self.date} {self.session} {self.code}"


class MarkWeek(models.Model):
    """A pupil's marks of one week (Monday to Sunday) with one code, counted: what the
    dashboards read for whole weeks instead of every mark (issue 18.4).

    Written only by database triggers on registers_mark (migration 0017), in the transaction
    of the marks' own write, whatever the path (register, import, amendment, deletion), as
    rows of changes: +1 for a mark added, -1 for a mark removed or changed away. The rows are
    only ever added (no row is locked, so two saves never wait for each other or deadlock);
    the figures of a (pupil, week, code) are the sum of its rows. The nightly run merges them
    (``registers.services.mark_weeks_compact``) into one row a week and code, about a quarter
    of the marks. ``n`` and ``mins`` (minutes late) are split by session (``_am``, ``_pm``)
    and by ISO day of the week (``_d1`` Monday ... ``_d7`` Sunday) for the dashboards'
    patterns. No foreign key: a pupil's rows go with their marks.
    """

    pupil_id = models.BigIntegerField()
    week = models.DateField()
    code = models.CharField(max_length=2)
    n = models.IntegerField(default=0)
    mins = models.IntegerField(default=0)
    n_am = models.IntegerField(default=0)
    mins_am = models.IntegerField(default=0)
    n_pm = models.IntegerField(default=0)
    mins_pm = models.IntegerField(default=0)
    n_d1 = models.IntegerField(default=0)
    mins_d1 = models.IntegerField(default=0)
    n_d2 = models.IntegerField(default=0)
    mins_d2 = models.IntegerField(default=0)
    n_d3 = models.IntegerField(default=0)
    mins_d3 = models.IntegerField(default=0)
    n_d4 = models.IntegerField(default=0)
    mins_d4 = models.IntegerField(default=0)
    n_d5 = models.IntegerField(default=0)
    mins_d5 = models.IntegerField(default=0)
    n_d6 = models.IntegerField(default=0)
    mins_d6 = models.IntegerField(default=0)
    n_d7 = models.IntegerField(default=0)
    mins_d7 = models.IntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["week"])]

    def __str__(self):
        return f"{self.pupil_id} {self.week} {self.code} {self.n:+d}"


class MarkAmendment(models.Model):
    """Append-only trail of changes to marks (docs/domain.md section 9).

    A database trigger (migration 0002) rejects UPDATE and DELETE on this table, so not
    even raw SQL from the application's role can rewrite history. Kept six years.
    """

    pupil = models.ForeignKey(Pupil, on_delete=models.PROTECT, related_name="amendments",
                              db_constraint=False, db_index=False)  # (pupil, date) index below
    date = models.DateField()
    session = models.CharField(max_length=2, choices=Session.choices)
    original_code = models.CharField(max_length=2, blank=True)
    original_minutes_late = models.PositiveSmallIntegerField(null=True, blank=True)
    new_code = models.CharField(max_length=2)
    new_minutes_late = models.PositiveSmallIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=300)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.DO_NOTHING, related_name="+", db_constraint=False)
    user_name = models.CharField(max_length=150)
    role = models.CharField(max_length=40)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["pupil", "date"])]

    def __str__(self):
        return f"{self.date} {self.session}: {self.original_code or '–'} → {self.new_code}"


class PupilHistory(models.Model):
    """Append-only history of a pupil's record and contacts (issue 11.3).

    Written only by database triggers on registers_pupil and registers_contact (migration
    0007), so every path (import, form, admin, raw SQL) is recorded; a trigger refuses
    UPDATE, DELETE and TRUNCATE on this table. ``source`` and the person come from the
    transaction's settings (registers.pupils.history_context); unset, the source is "system".
    """

    class Source(models.TextChoices):
        FORM = "form", "Form"
        IMPORT = "import", "Import"
        ADMIN = "admin", "Admin"
        SYSTEM = "system", "System"

    pupil = models.ForeignKey(Pupil, on_delete=models.DO_NOTHING, related_name="history",
                              db_constraint=False, db_index=False)  # (pupil, at) index below
    at = models.DateTimeField()
    source = models.CharField(max_length=20)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.DO_NOTHING, related_name="+", db_constraint=False)
    user_name = models.CharField(max_length=150, blank=True)
    field = models.CharField(max_length=250)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["pupil", "at"])]
        verbose_name_plural = "pupil history"

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.field}: {self.old_value} → {self.new_value}"
# --- a pupil's arrangements: which sessions they are expected in (issue 13) ---------------

WEEKDAY_KEYS = ("MON", "TUE", "WED", "THU", "FRI")
SESSION_SLOTS = [(f"{k}-{s}", f"{name} {s}") for k, name in zip(
    WEEKDAY_KEYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"), strict=True)
    for s in ("AM", "PM")]


def session_slot(day, session: str) -> str:
    """The weekly slot of a session: "MON-AM" ... "FRI-PM"."""
    return f"{WEEKDAY_KEYS[day.weekday()]}-{session}" if day.weekday() < 5 else ""


class SessionPattern(models.Model):
    """The sessions a pupil not of compulsory school age is expected in (nursery hours,
    a staggered reception start): every other session is X, not a possible session."""

    pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="session_patterns")
    label = models.CharField(max_length=100, help_text='e.g. "15 hours: five mornings"')
    sessions = ArrayField(models.CharField(max_length=6, choices=SESSION_SLOTS))
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-start_date", "-pk"]

    def __str__(self):
        return f"{self.pupil_id}: {self.label}"


class PartTimeTimetable(models.Model):
    """A temporary part-time timetable agreed with the parent (DfE guidance): the pupil
    attends ``sessions``; every other session is C2 until it ends."""

    pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="part_time_timetables")
    start_date = models.DateField()
    planned_end = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    sessions = ArrayField(models.CharField(max_length=6, choices=SESSION_SLOTS),
                          help_text="The sessions the pupil attends.")
    reason = models.TextField()
    parent_agreed_on = models.DateField("parent agreed on")
    social_worker_informed_on = models.DateField(null=True, blank=True)
    la_consulted_on = models.DateField("EHC plan: LA consulted on", null=True, blank=True)
    la_notified_on = models.DateField("LA notified on", null=True, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+",
                                    db_constraint=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-start_date", "-pk"]
        constraints = [models.CheckConstraint(
            condition=models.Q(planned_end__gte=models.F("start_date")),
            name="part_time_end_after_start")]

    def __str__(self):
        return f"{self.pupil_id}: {self.start_date} – {self.planned_end}"

    def overrun(self, today) -> bool:
        """Still running after its planned end."""
        return self.ended_on is None and today > self.planned_end


class PartTimeReview(models.Model):
    """A planned review of a part-time timetable; due reviews show in the queue."""

    timetable = models.ForeignKey(PartTimeTimetable, on_delete=models.CASCADE,
                                  related_name="reviews")
    due = models.DateField()
    done_on = models.DateField(null=True, blank=True)
    notes = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["due", "pk"]

    def __str__(self):
        return f"review of {self.timetable_id} due {self.due}"


class OffSiteProvision(models.Model):
    """Sessions a pupil spends at another provider (alternative provision the school or the LA
    arranged, or the other school of a dual-registered pupil): the register proposes the
    provision's code (B, K or D) for those sessions, confirmed afterwards from what the
    provider reports (``ProviderReport``)."""

    class Code(models.TextChoices):
        B = "B", "B – approved educational activity the school arranged"
        K = "K", "K – education provision arranged by the local authority"
        D = "D", "D – dual registered, attending the other school"

    pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="offsite_provisions")
    provider = models.CharField("provider", max_length=200)
    provider_contact = models.CharField("provider contact", max_length=300,
                                        help_text="Name, phone and email of the provider's contact.")
    code = models.CharField(max_length=1, choices=Code.choices)
    sessions = ArrayField(models.CharField(max_length=6, choices=SESSION_SLOTS),
                          help_text="The sessions the pupil spends at the provider.")
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    reason = models.TextField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+",
                                    db_constraint=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-start_date", "-pk"]
        constraints = [models.CheckConstraint(
            condition=models.Q(end_date__isnull=True) | models.Q(end_date__gte=models.F("start_date")),
            name="offsite_end_after_start")]

    def __str__(self):
        return f"{self.pupil_id}: {self.code} at {self.provider}"


class ProviderReport(models.Model):
    """What the provider reported for one session of off-site provision, as the office
    confirmed it (append-only, db_roles.APPEND_ONLY_TABLES): attended (the provision's code
    stands) or not (the mark was corrected through the normal amendment path)."""

    provision = models.ForeignKey(OffSiteProvision, on_delete=models.PROTECT,
                                  related_name="reports", db_constraint=False)
    date = models.DateField()
    session = models.CharField(max_length=2, choices=Session.choices)
    attended = models.BooleanField()
    code = models.CharField(max_length=2)
    note = models.CharField(max_length=300, blank=True)
    user_name = models.CharField(max_length=150)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "session"]
        constraints = [models.UniqueConstraint(fields=["provision", "date", "session"],
                                               name="one_provider_report_per_session")]

    def __str__(self):
        return f"{self.provision_id} {self.date} {self.session}: {self.code}"


class RegisterCover(models.Model):
    """The office assigns a member of staff to take a class's registers for one day (cover):
    that person sees them under "My register" that day, and only that day."""

    group = models.ForeignKey(RegistrationGroup, on_delete=models.CASCADE, related_name="covers")
    day = models.DateField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+", db_constraint=False)
    assigned_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["day", "group__name"]
        constraints = [models.UniqueConstraint(fields=["group", "day", "user"],
                                               name="one_cover_per_person_class_day")]
        indexes = [models.Index(fields=["user", "day"])]

    def __str__(self):
        return f"{self.user_id} covers {self.group_id} on {self.day}"


# --- lawful removal from roll (issue 13) ---------------------------------------------------

class RemovalEnquiry(models.Model):
    """An enquiry made before taking a pupil off roll on the 20-day ground (the checklist)."""

    class Kind(models.TextChoices):
        CALLS = "calls", "Called every contact"
        HOME_VISIT = "home_visit", "Home visit"
        LA_JOINT = "la_joint", "Joint enquiries with the local authority"

    pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="removal_enquiries")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    done_on = models.DateField()
    notes = models.CharField(max_length=300, blank=True)
    user_name = models.CharField(max_length=150)

    class Meta:
        ordering = ["pupil", "kind"]
        constraints = [models.UniqueConstraint(fields=["pupil", "kind"],
                                               name="one_enquiry_of_each_kind")]

    def __str__(self):
        return f"{self.pupil_id} {self.kind} {self.done_on}"


class RollRemoval(models.Model):
    """Append-only record of each deletion from the admission register: the ground, the
    20-day run found at the time and any head's override (db_roles.APPEND_ONLY_TABLES)."""

    pupil = models.ForeignKey(Pupil, on_delete=models.PROTECT, related_name="removals",
                              db_constraint=False)
    leaving_date = models.DateField()
    ground = models.CharField(max_length=30, choices=DeletionGround.choices)
    run_days = models.PositiveSmallIntegerField(null=True, blank=True)
    override_reason = models.CharField(max_length=300, blank=True)
    user_name = models.CharField(max_length=150)
    role = models.CharField(max_length=40, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self):
        return f"{self.pupil_id} off roll {self.leaving_date} ({self.ground})"


class AttendanceHistory(models.Model):
    """A school year of attendance at another school, as a Common Transfer File carried it
    (``Attendance/YearData``, docs/domain.md section 7). Kept as received, never counted in this
    school's figures, and passed on when the pupil moves again (registers/ctf.py)."""

    pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="attendance_history")
    school_year = models.PositiveSmallIntegerField(help_text="the year the school year starts")
    lea = models.CharField("LA number", max_length=3)
    estab = models.CharField(max_length=4)
    school_name = models.CharField(max_length=200, blank=True)
    sessions_possible = models.PositiveIntegerField(null=True, blank=True)
    sessions_authorised = models.PositiveIntegerField(null=True, blank=True)
    sessions_unauthorised = models.PositiveIntegerField(null=True, blank=True)
    start_date = models.DateField(null=True, blank=True)
    # Comma-separated national codes from start_date, AM then PM of each weekday;
    # "#" a closure, "-" no mark. Pre-2024 codes are stored already mapped.
    marks = models.TextField(blank=True)

    class Meta:
        ordering = ["pupil", "school_year", "lea", "estab"]
        verbose_name_plural = "attendance history"
        constraints = [models.UniqueConstraint(fields=["pupil", "school_year", "lea", "estab"],
                                               name="one_history_per_school_year")]

    def __str__(self):
        return f"{self.pupil_id} {self.school_year} {self.lea}{self.estab}"

    @property
    def attendance_percent(self) -> float | None:
        """Attended / possible × 100 from the file's session counts (docs/domain.md section 3)."""
        if not self.sessions_possible or self.sessions_authorised is None \
                or self.sessions_unauthorised is None:
            return None
        absent = self.sessions_authorised + self.sessions_unauthorised
        return (self.sessions_possible - absent) / self.sessions_possible * 100


class CensusSnapshot(models.Model):
    """The census attendance figures as the school sent them (registers/census.py)."""

    census = models.CharField(max_length=10)  # spring, summer, autumn
    year = models.PositiveSmallIntegerField()
    taken_at = models.DateTimeField(auto_now_add=True)
    taken_by = models.CharField(max_length=150, blank=True)
    # {upn: [possible, authorised, unauthorised, {reason code: sessions}]}
    figures = models.JSONField(default=dict)

    class Meta:
        ordering = ["-taken_at"]

    def __str__(self):
        return f"{self.census} census {self.year} taken {self.taken_at:%Y-%m-%d %H:%M}"


class DailyExtract(models.Model):
    """A day's registers as sent to the DfE (registers/dfe.py): the CSV exactly as written."""

    day = models.DateField(db_index=True)
    written_at = models.DateTimeField(auto_now_add=True)
    rows = models.PositiveIntegerField(default=0)
    content = models.TextField()

    class Meta:
        ordering = ["-day", "-written_at"]

    def __str__(self):
        return f"DfE extract {self.day} ({self.written_at:%Y-%m-%d %H:%M})"
