"""Leave-of-absence and reporting rules from the seed schools (issue 3)."""


def apply(preset: str) -> None:
    """Load the preset's absence rules into the current school schema."""
