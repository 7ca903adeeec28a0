"""Disclosure control for people who should see figures, not children (docs/domain.md section 3).

One home for the rules; the dashboards, their exports, the QA report and the trust dashboard
apply them to what *figures-only viewers* see: governors, and trust directors who are not
also staff with pupil records in that school (the trust dashboard is figures-only for every
director, since it spans schools).

1. **Aggregates only.** No pupil-level list (not even initials), no drill-down links, and no
   filter of any kind in the query string: only the period and the cohort. Safeguarding
   characteristics (looked after, child protection / child in need, social worker, young
   carer) are never a filter, breakdown or export column for them.
2. **Primary suppression.** A count of fewer than 5 pupils (0 to 4) is shown as
   "fewer than 5" and every rate computed from it is "suppressed". A row about a group of
   fewer than 5 pupils shows no figures at all.
3. **Secondary suppression.** Where rows split a total that is shown (year groups, classes,
   bands, codes, schools of a trust), a column with exactly one hidden cell would give it
   away as the total minus the others, so the next-smallest cell of that column is hidden too
   (with the rates that hang on it). Classes are suppressed within their year group (whose
   row is shown), and a class that is its year group's only class follows that row. A group
   and "the rest" split the school: when either side's count is fewer than 5 both are
   hidden. A figure whose complement (all pupils minus compulsory school age, a group's
   rest) is 1 to 4 pupils is hidden the same way.
4. **Rounded.** Rates go into exports to one decimal place, as on the page, so exact session
   counts cannot be worked back.
"""

from __future__ import annotations

from collections.abc import Sequence

from tenants.roles import PUPIL_READERS

THRESHOLD = 5
FEWER = "fewer than 5"
SUPPRESSED = "suppressed"

# Pupil attributes that are safeguarding information: never a filter, breakdown or column for
# figures-only viewers (docs/domain.md section 3). Model field names.
SAFEGUARDING_FIELDS = ("lac", "child_protection", "social_worker", "young_carer")
# Query-string names that ask for a safeguarding group: refused (403) to figures-only viewers
# even where the page would ignore them, so no URL appears to offer such a filter.
SAFEGUARDING_PARAMS = frozenset(SAFEGUARDING_FIELDS + ("cp", "cin", "child_in_need", "looked_after"))


def asks_for_safeguarding(params) -> bool:
    return any(k.lower() in SAFEGUARDING_PARAMS for k in params)


def figures_only(roles) -> bool:
    """True for a viewer with no right to read pupil records in this school."""
    return not (frozenset(roles) & PUPIL_READERS)


def small(n) -> bool:
    """A pupil count that must not be shown: fewer than 5, zero included."""
    return n is not None and n < THRESHOLD


def reveals(n) -> bool:
    """A derived population (a complement) of 1 to 4 pupils: hiding needed. Zero pupils means
    the two populations are the same, which tells nothing new."""
    return n is not None and 0 < n < THRESHOLD


def hidden_cells(values: Sequence[int | None], primary: Sequence[bool] | None = None,
                 *, total_shown: bool = True) -> list[bool]:
    """Which cells of one column to hide: primary (fewer than 5, or already hidden) and, when
    the column's total is shown elsewhere, secondary (the next-smallest cell when exactly one
    is hidden). Cells that are None (no figure) never count as the next-smallest."""
    hide = [small(v) or bool(primary and primary[i]) for i, v in enumerate(values)]
    if total_shown and sum(hide) == 1:
        shown = [i for i, h in enumerate(hide) if not h and values[i] is not None]
        if shown:
            hide[min(shown, key=lambda i: (values[i], i))] = True
    return hide


def hidden_cells_grouped(values: Sequence[int | None], primary: Sequence[bool] | None,
                         groups: Sequence) -> list[bool]:
    """``hidden_cells`` within each group of rows whose sum is shown elsewhere (the classes of
    a year group, against the year group's row): the secondary cell is found in the same
    group, so a year group minus its other classes cannot give a hidden class away."""
    hide = [small(v) or bool(primary and primary[i]) for i, v in enumerate(values)]
    for g in dict.fromkeys(groups):
        idx = [i for i, k in enumerate(groups) if k == g]
        for i, h in zip(idx, hidden_cells([values[i] for i in idx], [hide[i] for i in idx]),
                        strict=True):
            hide[i] = h
    return hide


def pair_hidden(part: int, whole: int) -> bool:
    """A count and its complement in a shown total (a group and the rest): hide both when
    either side is fewer than 5."""
    return small(part) or small(whole - part)


def text(value) -> str:
    """The text shown for a hidden count."""
    return FEWER if small(value) else SUPPRESSED


# --- figures of a set of pupils (dashboards.figures.Figures), as a figures-only viewer sees them

ALL_FIGURES = frozenset({"pupils", "stats", "pa", "pa_pct", "sa", "sa_pct", "broken_weeks",
                         "pupils_broken"})


def figures_hidden(f, *, whole=None, complement_of=None) -> frozenset[str]:
    """Names of the figures of ``f`` to hide.

    ``whole``: the figures of the whole school when ``f`` is a group of it (the group and the
    rest are checked as a pair). ``complement_of``: figures of a sub-population of ``f`` that
    are shown too (compulsory school age inside all pupils): their difference is checked.
    """
    other = whole if whole is not None else complement_of
    if small(f.pupils) or (whole is not None and reveals(whole.pupils - f.pupils)) \
            or (complement_of is not None and reveals(f.pupils - complement_of.pupils)):
        return ALL_FIGURES
    hide = set()
    for n, extra in (("pa", "pa_pct"), ("sa", "sa_pct"), ("pupils_broken", "broken_weeks")):
        v = getattr(f, n)
        if small(v) or (other is not None and small(abs(getattr(other, n) - v))):
            hide |= {n, extra}
    return frozenset(hide)


def remainder_hidden(parts, whole) -> frozenset[str]:
    """Groups of one attribute shown side by side (girls and boys; SEN support and EHC plan)
    leave the remaining value (gender unknown; no SEN) as the whole minus their sum: hide
    what that remainder would give away about 1 to 4 pupils, or a count under 5 of them."""
    rest = whole.pupils - sum(p.pupils for p in parts)
    if reveals(rest):
        return ALL_FIGURES
    hide = set()
    if rest:
        for n, extra in (("pa", "pa_pct"), ("sa", "sa_pct")):
            if small(getattr(whole, n) - sum(getattr(p, n) for p in parts)):
                hide |= {n, extra}
    return frozenset(hide)


class Shown:
    """``f`` (figures or statistics) with the ``hidden`` attributes reading as the hidden text.

    Templates use it like the object it wraps; ``stats`` hidden hides every statistic.
    """

    def __init__(self, f, hidden=frozenset()):
        self._f, self._hidden = f, frozenset(hidden)

    def __getattr__(self, name):
        value = getattr(self._f, name)
        if name == "stats" and "stats" in self._hidden:
            return Shown(value, {"possible", "attendance_pct", "absence_pct", "authorised_pct",
                                 "unauthorised_pct", "late_before_close", "late_after_close",
                                 "minutes_late", "attended", "authorised", "unauthorised"})
        if name in self._hidden or "*" in self._hidden:
            return SUPPRESSED if name.endswith("_pct") else text(value)
        return value
