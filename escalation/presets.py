"""Escalation policy presets from the seed schools: bands now, stages in issue 4."""

from tenants.presets import PRESETS

from .services import band_set_create


def apply(preset: str) -> None:
    """Load the preset's escalation configuration into the current school schema."""
    config = PRESETS[preset]
    if config.get("bands"):
        band_set_create(name=config["bands_name"], bands=config["bands"])
