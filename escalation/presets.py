"""Escalation policy presets from the five seed schools (docs/domain.md 4–6).

Each preset is plain data: the band set (from tenants.presets), any alternative band set
the school may switch to, and the graduated-response stages. ``apply`` loads them into the
current school schema; a school can later copy another preset (``preset_copy``) and edit it.
"""

from decimal import Decimal as D

from django.db import transaction

from tenants.presets import PRESETS, band

from .models import DEFAULT_MIN_POSSIBLE
from .services import band_set_create, policy_version_record, stages_replace

AO, HEAD, TEACHER = "attendance_officer", "head", "teacher"


def stage(
    key,
    name,
    order,
    trigger,
    *,
    track="attendance",
    threshold=None,
    inclusive=False,
    band="",
    count=None,
    window="ytd",
    window_n=None,
    min_possible=DEFAULT_MIN_POSSIBLE,
    letter="",
    meeting="",
    task="",
    referral="",
    owner=AO,
    review=14,
    monitor=None,
    next_stage=None,
    description="",
    enforcement=None,
    direct_entry_reason="",
    once_per_year=False,
    exit_threshold=None,
    exit_after_days=28,
    recovery_letter="",
    recovery_task="",
):
    return {
        "key": key,
        "name": name,
        "track": track,
        "order": order,
        "trigger": trigger,
        "threshold": None if threshold is None else D(str(threshold)),
        "threshold_inclusive": inclusive,
        "band": band,
        "count": count,
        "window": window,
        "window_n": window_n,
        "min_possible": min_possible,
        "letter_template": letter,
        "meeting_type": meeting,
        "task": task,
        "referral": referral,
        "owner_role": owner,
        "review_days": review,
        "monitor_school_days": monitor,
        "next_stage": next_stage,
        "description": description,
        # Every penalty-track stage is enforcement; other tracks say so stage by stage.
        "enforcement": track == "penalty" if enforcement is None else enforcement,
        "direct_entry": bool(direct_entry_reason),
        "direct_entry_reason": direct_entry_reason,
        "once_per_year": once_per_year,
        "exit_threshold": None if exit_threshold is None else D(str(exit_threshold)),
        "exit_after_days": exit_after_days,
        "recovery_letter": recovery_letter,
        "recovery_task": recovery_task,
    }


# Day-to-day triggers every school shares (docs/domain.md 5 and 6; LAP 6a (9)).
def common(prefix, *, penalty=True):
    out = [
        stage(
            f"{prefix}-no-contact",
            "No contact for 3 days: home visit",
            1,
            "no_contact",
            track="contact",
            count=3,
            task="Home visit; keep making daily contact (safeguarding duty)",
            review=7,
            description="A child absent for three days without any notification gets a home visit.",
        )
    ]
    if penalty:
        out.append(
            stage(
                f"{prefix}-penalty",
                "Penalty notice to be considered",
                1,
                "unauthorised",
                track="penalty",
                count=10,
                window="rolling_weeks",
                window_n=10,
                owner=HEAD,
                review=28,
                task="Consider a penalty notice (national framework); a Notice to Improve may come first",
                description="10 or more unauthorised sessions within a rolling 10 school weeks.",
            )
        )
    return out


MIN = DEFAULT_MIN_POSSIBLE  # percentage triggers wait for four school weeks of sessions
# The two 4-week windows 'declining' compares, and Cheetwood's last-4-weeks lists, hold at most
# 40 sessions; 36 lets a week with an INSET day or a bank holiday still count.
MIN_4_WEEKS = 36
# Lateness: "persistently late" and "accumulate" are the schools' words; these numbers are the
# presets' reading of them, over a half term's worth of school weeks, for the school to change.
LATE_WEEKS = 6
BEECROFT_LATES = 8          # late on 8 of the 30 mornings in 6 school weeks
BEECROFT_MINUTES_LATE = 120  # two hours of learning lost to lateness in 6 school weeks
LAP_U_LATES = 5
BEECROFT_POSITIVE_CALL = "Motivating and positive call to parents: attendance has improved"

STAGES = {
    "lap": [
        stage(
            "lap-letter-1",
            "Letter 1: Listen and understand",
            1,
            "below",
            threshold=96,
            band="Letter 1",
            min_possible=MIN,
            letter="lap_letter_1",
            owner=TEACHER,
            review=42,
            next_stage="lap-letter-2",
            task="Teacher reaches out within a week: patterns, barriers, advice, targeted support",
            description="Pupil's attendance slips below 96%.",
        ),
        stage(
            "lap-letter-2",
            "Letter 2: Facilitate and formalise (PA)",
            2,
            "below",
            threshold=90,
            band="Letter 2 (PA)",
            inclusive=True,  # persistent absence is absence >= 10%: exactly 90.0% is PA
            min_possible=MIN,
            letter="lap_letter_2",
            meeting="attendance_support",
            review=28,
            next_stage="lap-letter-3",
            task="Lead professional; agree an Attendance Targeted Support Plan",
            description="Pupil's attendance slips below 90%: persistently absent (90.0% included).",
        ),
        stage(
            "lap-letter-3",
            "Letter 3: Formalise and enforce (SA)",
            3,
            "severe",
            enforcement=True,
            min_possible=MIN,
            letter="lap_letter_3",
            meeting="attendance_contract",
            review=35,
            referral="Ask the LA attendance team to attend the Attendance Contract meeting",
            description="Attendance below 50%: severely absent.",
        ),
        stage(
            "lap-letter-3-declining",
            "Letter 3: Formalise and enforce (below 90% and declining)",
            3,
            "below_declining",
            enforcement=True,
            threshold=90,
            inclusive=True,
            min_possible=MIN_4_WEEKS,
            letter="lap_letter_3",
            meeting="attendance_contract",
            review=35,
            referral="Ask the LA attendance team to attend the Attendance Contract meeting",
            description="Attendance at or below 90% (PA) and declining over the last 4 school weeks.",
        ),
        # "Where these 'U' lates accumulate and is having impact on their learning, the school will
        # send a letter to the parents/carers of the pupil in question to discuss any support needs."
        stage(
            "lap-u-lates",
            "U lates accumulating: letter about support",
            1,
            "u_count",
            track="lateness",
            count=LAP_U_LATES,
            window="rolling_weeks",
            window_n=LATE_WEEKS,
            letter="lap_u_lates",
            review=28,
            task="Discuss support needs and ways of accessing support for arriving on time",
            description=f"{LAP_U_LATES} or more arrivals after the register closed (U) in {LATE_WEEKS} "
            "school weeks (the policy says 'accumulate'; the school sets the number).",
        ),
        *common("lap"),
    ],
    "beecroft": [
        stage(
            "bee-yellow",
            "Yellow group: monitoring",
            1,
            "below",
            threshold=96,
            band="Yellow",
            min_possible=MIN,
            owner=TEACHER,
            next_stage="bee-amber",
            task="Class teacher monitors; phone call from the attendance officer",
            description="Pupils having too many days off.",
            recovery_task=BEECROFT_POSITIVE_CALL,
        ),
        stage(
            "bee-amber",
            "Amber group: home visit and SAP meeting",
            2,
            "below",
            threshold=91,
            band="Amber",
            inclusive=True,
            min_possible=MIN,
            meeting="sap",
            task="Home visit",
            next_stage="bee-red",
            description="91% or below: a serious concern.",
            recovery_task=BEECROFT_POSITIVE_CALL,
        ),
        stage(
            "bee-red",
            "Red group: SAP meeting (persistent absence)",
            3,
            "below",
            threshold=90,
            band="Red",
            inclusive=True,
            min_possible=MIN,
            meeting="sap",
            owner=HEAD,
            review=28,
            next_stage="bee-ews",
            task="SAP meeting with the head, deputy and attendance officer; parent contract",
            description="90% or below: persistently absent.",
            recovery_task=BEECROFT_POSITIVE_CALL,
        ),
        stage(
            "bee-ews",
            "Referral to Leeds Education Welfare",
            4,
            "manual",
            owner=HEAD,
            review=28,
            referral="Leeds City Council Education Welfare Officer",
            description="If attendance does not improve after the SAP meeting.",
        ),
        # "The head will send letters to parents of children who are persistently late to invite them in
        # for a meeting." ... "minutes late will be input by office staff." Either measure opens it.
        stage(
            "bee-late",
            "Persistently late: the head's letter inviting parents in",
            1,
            "late_count",
            track="lateness",
            count=BEECROFT_LATES,
            window="rolling_weeks",
            window_n=LATE_WEEKS,
            letter="beecroft_late_meeting",
            meeting="parent",
            owner=HEAD,
            review=28,
            description=f"{BEECROFT_LATES} or more late (L) marks in {LATE_WEEKS} school weeks.",
        ),
        stage(
            "bee-late-minutes",
            "Persistently late (minutes): the head's letter inviting parents in",
            1,
            "minutes_late",
            track="lateness",
            count=BEECROFT_MINUTES_LATE,
            window="rolling_weeks",
            window_n=LATE_WEEKS,
            letter="beecroft_late_meeting",
            meeting="parent",
            owner=HEAD,
            review=28,
            description=f"{BEECROFT_MINUTES_LATE} or more minutes late in {LATE_WEEKS} school weeks.",
        ),
        *common("bee"),
    ],
    "cheetwood": [
        # Appendix 1 as one ladder: Amber-Green's conversation, letter and meeting come before
        # Red-Amber's, and Red-Amber's before Red's ("Ensure that the pupil has already spoken to a
        # member of staff at the stages preceding RED intervention").
        stage(
            "chw-ag",
            "Amber-Green: conversation and target",
            1,
            "below",
            threshold=97,
            band="Amber-Green",
            window="last_4_weeks",
            min_possible=MIN_4_WEEKS,
            task="Class teacher and attendance officer speak to the pupil; target in sessions; review date",
            description="Appendix 1, Amber-Green: attendance below 97%.",
        ),
        stage(
            "chw-ag-letter",
            "Amber-Green: letter of concern",
            2,
            "manual",
            letter="cheetwood_concern",
            description="Where unauthorised absence has occurred or attendance has not improved following "
            "the review with the parent.",
        ),
        stage(
            "chw-ag-meeting",
            "Amber-Green: meeting with parents",
            3,
            "manual",
            meeting="parent",
            description="Outcomes: resolved, parenting contract, or 15-day penalty monitoring.",
        ),
        stage(
            "chw-ra",
            "Red-Amber: attendance officer and governor",
            4,
            "below",
            threshold=93,
            band="Red-Amber",
            inclusive=True,
            window="last_4_weeks",
            min_possible=MIN_4_WEEKS,
            task="Speak to parents; Pastoral Support Plan; target in sessions; review date",
            description="Appendix 1, Red-Amber: 93% or below.",
        ),
        stage(
            "chw-ra-letter",
            "Red-Amber: letter of concern",
            5,
            "manual",
            letter="cheetwood_concern",
            description="Where unauthorised absence has occurred or attendance has not improved following "
            "the review with the pupil.",
        ),
        stage(
            "chw-ra-meeting",
            "Red-Amber: meeting with parents",
            6,
            "manual",
            meeting="parent",
            description="If improvement has not occurred following this intervention.",
        ),
        stage(
            "chw-red",
            "Red: persistent absence group lead",
            7,
            "below",
            threshold=90,
            band="Red",
            window="last_4_weeks",
            min_possible=MIN_4_WEEKS,
            review=7,
            task="Weekly contact with pupil and parents; target; key contact for agencies",
            description="Below 90% (as written: 90.0% is Red-Amber).",
        ),
        stage(
            "chw-panel",
            "Attendance Panel",
            8,
            "manual",
            meeting="panel",
            owner=HEAD,
            review=28,
            task="Early help assessment; at least two home visits before any LA referral",
        ),
        stage(
            "chw-pn-monitoring",
            "Penalty notice: 15 school days monitoring",
            9,
            "manual",
            enforcement=True,
            monitor=15,
            letter="cheetwood_pn_monitoring",
        ),
        stage(
            "chw-la-referral",
            "Referral to the LA for legal action",
            10,
            "manual",
            enforcement=True,
            owner=HEAD,
            referral="Manchester City Council: penalty notice / legal proceedings",
        ),
        *common("chw"),
    ],
    "stlukes": [
        stage(
            "stl-95",
            "Letter: below the expected standard",
            1,
            "below",
            threshold=95,
            band="Concern letter",
            min_possible=MIN,
            letter="stlukes_below_95",
            review=42,
            next_stage="stl-90",
            description="Attendance falls below 95 percent.",
        ),
        stage(
            "stl-90",
            "Letter and monitoring",
            2,
            "below",
            threshold=90,
            band="Monitoring",
            min_possible=MIN,
            letter="stlukes_below_90",
            review=42,
            next_stage="stl-85",
            task="Attendance team contacts parents (phone or face to face)",
            description="Attendance falls below 90 percent.",
        ),
        stage(
            "stl-85",
            "LA informed and formal meeting",
            3,
            "below",
            threshold=85,
            band="LA informed",
            min_possible=MIN,
            meeting="formal",
            referral="Inform the Local Authority",
            owner=HEAD,
            review=42,
            next_stage="stl-warning",
            description="Attendance drops below 85 percent.",
        ),
        stage(
            "stl-warning",
            "Written warning from the School Attendance Improvement Service",
            4,
            "manual",
            enforcement=True,
            referral="School Attendance Improvement Service: written warning",
            monitor=15,
            next_stage="stl-fpn",
            description="No improvement at the half-termly check.",
        ),
        stage(
            "stl-fpn",
            "Fixed penalty notice",
            5,
            "manual",
            enforcement=True,
            owner=HEAD,
            referral="Request a fixed penalty notice",
            description="No improvement after 15 days.",
        ),
        stage(
            "stl-3-days",
            "Absent more than 3 days: meeting",
            1,
            "continuous",
            track="absence",
            count=4,
            meeting="parent",
            review=14,
            description="Absent for more than three school days in a row: parents meet the school.",
        ),
        # "Where a pupil is absent for more than three school days in a row, or more than 10 school
        # days in one term, the pupil's parent will be expected to meet with the school": one meeting,
        # so both triggers are the same rung of the same track.
        stage(
            "stl-10-days",
            "Absent more than 10 days this term: meeting",
            1,
            "days_absent",
            track="absence",
            count=10,
            window="term",
            meeting="parent",
            review=28,
            description="Absent for more than 10 school days in one term: parents meet the school.",
        ),
        # "The school will inform the LA, on a half termly basis, of the details of pupils who ... have
        # missed 10 school days or more without authorisation." Only children of compulsory school age
        # are reported (the LA's attendance duty), so the stage is marked as enforcement.
        stage(
            "stl-la-unauthorised",
            "10 school days unauthorised this year: LA informed",
            1,
            "unauthorised",
            track="la-notification",
            count=20,
            window="ytd",
            enforcement=True,
            once_per_year=True,
            referral="Include in the half-termly notification to the Local Authority",
            review=42,
            description="20 or more unauthorised sessions (10 school days) in the school year.",
        ),
        *common("stl"),
    ],
    "bankslane": [
        stage(
            "bl-warning",
            "Penalty warning: 15 school days of monitoring",
            1,
            "unauthorised",
            track="penalty",
            count=10,
            window="months",
            window_n=3,
            letter="bankslane_penalty_warning",
            monitor=15,
            next_stage="bl-penalty-request",
            owner=HEAD,
            description="10 sessions of unauthorised absence in three months: written warning, then 15 "
            "school days with no unauthorised absence (U included).",
        ),
        stage(
            "bl-penalty-request",
            "Request an Education Penalty Notice",
            2,
            "manual",
            track="penalty",
            owner=HEAD,
            referral="Stockport Council: Education Penalty Notice request",
        ),
        stage(
            "bl-concern",
            "Attendance concern",
            1,
            "below",
            threshold=96,
            band="Concern",
            min_possible=MIN,
            review=28,
            task="Attendance monitoring meeting (teacher, pastoral staff, SENCO)",
            next_stage="bl-pa",
        ),
        stage(
            "bl-pa",
            "Persistent absence: Education Welfare referral",
            2,
            "persistent",
            min_possible=MIN,
            referral="Stockport Education Welfare team",
            meeting="parent",
            review=28,
        ),
        stage(
            "bl-missing",
            "Missing from school: 10 days unexplained",
            1,
            "no_contact",
            track="missing",
            count=10,
            referral="Missing from school report to Stockport",
            owner=HEAD,
            review=7,
        ),
        *common("bl", penalty=False),
    ],
}

ALTERNATIVE_BANDS = {
    # Cheetwood's appendix uses 94 as the Amber-Green edge and "RED pupils with attendance below
    # 90%": the school can choose this set.
    "cheetwood": (
        "Cheetwood appendix 1 bands (94/90 edges)",
        [
            band("Green", "#2e7d32", 97, True, None, True, "97–100%"),
            band("Amber-Green", "#7cb342", 94, True, 97, False, "94–96.9%"),
            band("Red-Amber", "#e65100", 90, True, 94, False, "90–93.9% (appendix: 91–93%)"),
            band("Red", "#c62828", None, True, 90, False, "below 90%"),
        ],
    ),
}


@transaction.atomic
def apply(preset: str, *, user=None) -> None:
    """Load the preset's escalation configuration into the current school schema."""
    config = PRESETS[preset]
    if config.get("bands"):
        band_set_create(name=config["bands_name"], bands=config["bands"], user=user)
    if preset in ALTERNATIVE_BANDS:
        name, bands = ALTERNATIVE_BANDS[preset]
        band_set_create(name=name, bands=bands, activate=False, user=user)
    stages_replace(specs=STAGES.get(preset, []), user=user, note=f"Preset '{preset}' applied")


@transaction.atomic
def preset_copy(preset: str, *, user, bands: bool = True):
    """Replace this school's stages (and optionally bands) with a copy of a preset to edit."""
    if preset not in STAGES:
        raise ValueError(f"unknown preset '{preset}'")
    if bands:
        config = PRESETS[preset]
        band_set_create(name=f"{config['bands_name']} (copy)", bands=config["bands"], user=user)
    stages_replace(specs=STAGES[preset], user=user, note=f"Copied preset '{preset}'")
    return policy_version_record(user=user, note=f"Copy of preset '{preset}' ready to edit")
