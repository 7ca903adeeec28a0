"""Dates of the English school year and compulsory school age (domain.md sections 1 and 3)."""

from datetime import date


def school_year_start(day: date) -> date:
    """School years run 1 August – 31 July (the census autumn term starts 1 August)."""
    return date(day.year if day.month >= 8 else day.year - 1, 8, 1)


def school_year_end(day: date) -> date:
    return date(school_year_start(day).year + 1, 7, 31)


def age_on(dob: date, day: date) -> int:
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


def csa_birth_range(day: date) -> tuple[date, date]:
    """Dates of birth of pupils aged 5 to 15 at the start of the school year containing ``day``.

    The headline national statistics count these pupils (domain.md section 3): age on
    31 August before the school year is at least 5 and at most 15.
    """
    aug31 = date(school_year_start(day).year, 8, 31)
    youngest = date(aug31.year - 5, 8, 31)  # turned 5 on or before 31 August
    oldest = date(aug31.year - 16, 9, 1)    # not yet 16 on 31 August
    return oldest, youngest


LEARNING_DAYS_PER_YEAR = 190
HOURS_PER_DAY = 5


def learning_lost(sessions_missed: int) -> dict:
    """Days, weeks and hours of learning lost, as in the LAP letter table."""
    days = sessions_missed / 2
    return {"sessions": sessions_missed, "days": days, "weeks": days / 5,
            "hours": days * HOURS_PER_DAY}
