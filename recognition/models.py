"""Recognition (issue 19): who a school celebrates, what it gives, and what was given."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from registers.models import Pupil


class RecognitionSettings(models.Model):
    """The school's recognition settings: one row per school (pk=1), seeded from its preset."""

    class Alternative(models.TextChoices):
        NONE = "none", "No: 100% means every possible session attended"
        BEST_EVER = "best_ever", "A \u201cbest ever attendance\u201d award instead of 100%"
        MOST_IMPROVED = "most_improved", "A \u201cmost improved\u201d award instead of 100%"

    preset = models.CharField(max_length=30, blank=True)
    fair_alternative = models.CharField(
        "pupils whose only absence is medical (I, M), or who have an EHC plan",
        max_length=15, choices=Alternative.choices, default=Alternative.NONE,
        help_text="So that recognition never punishes illness or disability.")
    improved_margin = models.DecimalField(
        "improvers: attendance up by at least (percentage points)", max_digits=4,
        decimal_places=1, default=5)
    improved_weeks = models.PositiveSmallIntegerField(
        "improvers: over the last (school weeks), against the weeks before", default=6)
    draw_winners = models.PositiveSmallIntegerField("prize draw: winners each draw", default=3)
    competition_lateness = models.BooleanField(
        "class competition: rank by lateness too (fewest late marks breaks ties)", default=False)
    competition_to_parents = models.BooleanField(
        "show the winning class to its parents on the portal", default=False)
    trust_sees_names = models.BooleanField(
        "the trust director sees the names on the trust's PA, severe absence and EHCP lists",
        default=False, help_text="Otherwise the trust sees this school's counts only.")

    class Meta:
        verbose_name_plural = "recognition settings"

    def __str__(self):
        return "Recognition settings"


class Rule(models.Model):
    """Who qualifies and what is given: "100% for a term: certificate"."""

    class Qualifies(models.TextChoices):
        HALF_TERM_100 = "half_term_100", "100% for a half term"
        TERM_100 = "term_100", "100% for a term"
        YEAR_100 = "year_100", "100% for the school year"
        MOST_IMPROVED = "most_improved", "Most improved over the improvement window"
        CONSECUTIVE_YEARS = "consecutive_years", "Consecutive school years of 100%"

    class Gift(models.TextChoices):
        CERTIFICATE = "certificate", "Certificate"
        POSTCARD = "postcard", "Postcard home"
        BADGE = "badge", "Badge"
        TEXT = "text", "Text home"
        PRIZE_DRAW = "prize_draw", "Prize draw"
        TROPHY = "trophy", "Trophy"
        GIFT = "gift", "Gift"
        OTHER = "other", "Other (house points, breakfast, stickers)"

    name = models.CharField(max_length=120)
    qualifies = models.CharField(max_length=20, choices=Qualifies.choices)
    gift = models.CharField(max_length=12, choices=Gift.choices)
    years = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(14)],
        help_text="Consecutive years only: the run of 100% years needed")
    active = models.BooleanField(default=True)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "pk"]

    def __str__(self):
        return self.name


class PrizeDraw(models.Model):
    """A prize draw, kept as drawn: the seed, the eligible list (pupil ids, ascending) and
    the winners. The same seed and list give the same winners (services.draw_winners).
    Append-only (db_roles.APPEND_ONLY_TABLES)."""

    rule = models.ForeignKey(Rule, null=True, blank=True, on_delete=models.DO_NOTHING,
                             related_name="+", db_constraint=False)
    title = models.CharField(max_length=200)
    period_label = models.CharField(max_length=100)
    period_start = models.DateField()
    period_end = models.DateField()
    seed = models.CharField(max_length=64)
    entrants = models.JSONField(default=list)
    wanted = models.PositiveSmallIntegerField()
    winners = models.JSONField(default=list)
    drawn_at = models.DateTimeField(auto_now_add=True)
    drawn_by_name = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-drawn_at", "-pk"]

    def __str__(self):
        return f"{self.title} ({self.period_label})"


class Award(models.Model):
    """What was given to a pupil, for what and when: a certificate (with its letter),
    postcard, badge, text home, prize-draw win."""

    pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="awards")
    rule = models.ForeignKey(Rule, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="awards")
    title = models.CharField(max_length=200)
    gift = models.CharField(max_length=12, choices=Rule.Gift.choices)
    period_label = models.CharField(max_length=100)
    period_start = models.DateField()
    period_end = models.DateField()
    letter = models.ForeignKey("letters.Letter", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    draw = models.ForeignKey(PrizeDraw, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="awards", db_constraint=False)
    given_on = models.DateField()
    given_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+", db_constraint=False)
    given_by_name = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-given_on", "-pk"]
        constraints = [models.UniqueConstraint(
            fields=["pupil", "title", "gift", "period_start", "period_end"],
            name="one_award_per_pupil_gift_period")]
        indexes = [models.Index(fields=["period_start", "period_end"])]

    def __str__(self):
        return f"{self.title} for {self.pupil_id} ({self.period_label})"


class PositiveCall(models.Model):
    """A "positive call" task for an improver (Beecroft): good news reaches the family."""

    pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="positive_calls")
    reason = models.CharField(max_length=200)
    created_on = models.DateField()
    created_by_name = models.CharField(max_length=150, blank=True)
    done_on = models.DateField(null=True, blank=True)
    done_by_name = models.CharField(max_length=150, blank=True)
    notes = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["done_on", "-created_on", "pk"]
        constraints = [models.UniqueConstraint(fields=["pupil"], condition=models.Q(done_on__isnull=True),
                                               name="one_open_positive_call")]

    def __str__(self):
        return f"positive call for {self.pupil_id}"


class Benchmark(models.Model):
    """A headline figure from outside the school (the local authority's, a trust's own) with
    its source and period, shown beside the school's and the national figure."""

    label = models.CharField(max_length=120, help_text='e.g. "Leeds primary schools"')
    measure = models.CharField(max_length=20, choices=[
        ("attendance", "Attendance %"), ("pa", "Persistent absence %"), ("sa", "Severe absence %")])
    value = models.DecimalField(max_digits=5, decimal_places=1)
    source = models.CharField(max_length=200)
    period = models.CharField(max_length=60, help_text='e.g. "Autumn term 2025"')
    entered_by_name = models.CharField(max_length=150, blank=True)
    entered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["measure", "-entered_at"]

    def __str__(self):
        return f"{self.label} {self.measure} {self.value}"
