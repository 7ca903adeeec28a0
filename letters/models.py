"""Letters and LA returns (issue 5)."""
