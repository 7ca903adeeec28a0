"""Letter templates from the seed schools (issue 5)."""


def apply(preset: str) -> None:
    """Load the preset's letter templates into the current school schema."""
