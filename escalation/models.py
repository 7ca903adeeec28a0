"""The school's attendance policy as configuration: bands (issue 4 adds stages and cases)."""

from django.db import models


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
