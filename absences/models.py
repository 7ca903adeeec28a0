"""What parents tell the school: reported absences (leave requests follow in issue 3)."""

from django.conf import settings
from django.db import models

from registers.models import Pupil


class AbsenceReport(models.Model):
    """A parent's report that a child is or will be absent (domain.md section 8)."""

    class Reason(models.TextChoices):
        ILLNESS = "illness", "Illness"
        MEDICAL = "medical", "Medical or dental appointment"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        NEW = "new", "Waiting for the office"
        ACCEPTED = "accepted", "Accepted"
        QUERIED = "queried", "Queried"

    # The code the office is offered when it accepts a report with this reason.
    SUGGESTED_CODE = {"illness": "I", "medical": "M", "other": "N"}

    pupil = models.ForeignKey(Pupil, on_delete=models.CASCADE, related_name="absence_reports")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    first_day = models.DateField()
    last_day = models.DateField()
    details = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                    related_name="+", db_constraint=False)
    reported_at = models.DateTimeField(auto_now_add=True)
    response = models.TextField(blank=True)

    class Meta:
        ordering = ["-reported_at"]
        indexes = [models.Index(fields=["first_day", "last_day"])]

    def __str__(self):
        return f"{self.pupil} {self.get_reason_display()} {self.first_day}–{self.last_day}"

    @property
    def suggested_code(self) -> str:
        return self.SUGGESTED_CODE[self.reason]
