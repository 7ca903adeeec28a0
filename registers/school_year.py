"""Dates of the English school year and compulsory school age (docs/domain.md sections 1 and 3)."""

from datetime import date


def school_year_start(day: date) -> date:
    """School years run 1 August – 31 July (the census autumn term starts 1 August)."""
    return date(day.year if day.month >= 8 else day.year - 1, 8, 1)


def school_year_end(day: date) -> date:
    return date(school_year_start(day).year + 1, 7, 31)


def csa_birth_range(day: date) -> tuple[date, date]:
    """Dates of birth of pupils aged 5 to 15 at the start of the school year containing ``day``.

    The headline national statistics count these pupils (docs/domain.md section 3): age on
    31 August before the school year is at least 5 and at most 15. This is a statistical
    cohort only: every legal duty uses each pupil's own compulsory school age (below).
    """
    aug31 = date(school_year_start(day).year, 8, 31)
    youngest = date(aug31.year - 5, 8, 31)  # turned 5 on or before 31 August
    oldest = date(aug31.year - 16, 9, 1)    # not yet 16 on 31 August
    return oldest, youngest


# --- compulsory school age, per pupil (Education Act 1996 s8; docs/domain.md section 1) -----------
# "A child reaches CSA on the prescribed day — 31 December, 31 March or 31 August — on which,
# or next after which, they turn five. CSA ends on the last Friday in June of the school year
# in which the pupil turns 16."
PRESCRIBED_DAYS = ((3, 31), (8, 31), (12, 31))


def _birthday(dob: date, years: int) -> date:
    """The day a person born on ``dob`` attains ``years``; 29 February birthdays fall on 1 March."""
    try:
        return dob.replace(year=dob.year + years)
    except ValueError:
        return date(dob.year + years, 3, 1)


def _last_friday_of_june(year: int) -> date:
    june30 = date(year, 6, 30)
    return date(year, 6, 30 - (june30.weekday() - 4) % 7)


def csa_start(dob: date) -> date:
    """The prescribed day on which, or next after which, the child turns five."""
    fifth = _birthday(dob, 5)
    return next(date(fifth.year, m, d) for m, d in PRESCRIBED_DAYS if fifth <= date(fifth.year, m, d))


def csa_end(dob: date) -> date:
    """The last Friday in June of the school year (September to August) in which the child turns 16."""
    sixteenth = _birthday(dob, 16)
    return _last_friday_of_june(sixteenth.year + (1 if sixteenth.month >= 9 else 0))


def of_compulsory_school_age(dob: date, on: date) -> bool:
    return csa_start(dob) <= on <= csa_end(dob)


def csa_dob_bounds(on: date) -> tuple[date, date]:
    """Dates of birth (oldest, youngest) of the children of compulsory school age on ``on``.

    Both ends of CSA move forward with the date of birth, so the children of CSA on one day
    are exactly those born in a range: the youngest turned five on or before the latest
    prescribed day not after ``on``; the oldest turn 16 in a school year whose last Friday in
    June is not before ``on``.
    """
    prescribed = max(date(y, m, d) for y in (on.year - 1, on.year) for m, d in PRESCRIBED_DAYS
                     if date(y, m, d) <= on)
    youngest = date(prescribed.year - 5, prescribed.month, prescribed.day)
    end_year = on.year if on <= _last_friday_of_june(on.year) else on.year + 1
    oldest = date(end_year - 17, 9, 1)  # turns 16 on or after 1 September of that school year
    return oldest, youngest


LEARNING_DAYS_PER_YEAR = 190
HOURS_PER_DAY = 5


def learning_lost(sessions_missed: int) -> dict:
    """Days, weeks and hours of learning lost, as in the LAP letter table."""
    days = sessions_missed / 2
    return {"sessions": sessions_missed, "days": days, "weeks": days / 5,
            "hours": days * HOURS_PER_DAY}
