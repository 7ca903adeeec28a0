"""The national attendance codes from August 2024 (docs/domain.md section 2).

Everything that needs a code's meaning or statistical category reads it from here.
"""

from dataclasses import dataclass

PRESENT = "present"
AEA = "approved educational activity"
AUTHORISED = "authorised absence"
UNAUTHORISED = "unauthorised absence"
NOT_POSSIBLE = "not a possible attendance"
ADMIN = "administrative"


@dataclass(frozen=True)
class Code:
    code: str
    meaning: str
    category: str
    # Short plain-English text for parents.
    plain: str = ""

    @property
    def possible(self) -> bool:
        return self.category in (PRESENT, AEA, AUTHORISED, UNAUTHORISED)

    @property
    def attended(self) -> bool:
        return self.category in (PRESENT, AEA)


CODES: dict[str, Code] = {c.code: c for c in [
    Code("/", "Present (AM)", PRESENT, "In school"),
    Code("\\", "Present (PM)", PRESENT, "In school"),
    Code("L", "Late, arrived before the register closed", PRESENT, "Late"),
    Code("K", "Attending education provision arranged by the local authority", AEA,
         "Education arranged by the council"),
    Code("V", "Attending an educational visit or trip", AEA, "School trip"),
    Code("P", "Participating in a supervised sporting activity", AEA, "School sport"),
    Code("W", "Attending work experience", AEA, "Work experience"),
    Code("B", "Attending any other approved educational activity", AEA, "Approved activity"),
    Code("D", "Dual registered, attending the other school", NOT_POSSIBLE, "At other school"),
    Code("C1", "Leave: regulated performance or regulated employment abroad", AUTHORISED,
         "Performance licence"),
    Code("M", "Leave: medical or dental appointment", AUTHORISED, "Medical appointment"),
    Code("J1", "Leave: interview", AUTHORISED, "Interview"),
    Code("S", "Leave: study leave", AUTHORISED, "Study leave"),
    Code("X", "Not required to attend: non-compulsory school age", NOT_POSSIBLE,
         "Not required to attend"),
    Code("C2", "Leave: part-time timetable", AUTHORISED, "Part-time timetable"),
    Code("C", "Leave: exceptional circumstances", AUTHORISED, "Leave granted"),
    Code("T", "Parent travelling for occupational purposes", AUTHORISED, "Travelling family"),
    Code("R", "Religious observance", AUTHORISED, "Religious observance"),
    Code("I", "Illness (physical or mental health)", AUTHORISED, "Ill"),
    Code("E", "Suspended or permanently excluded, no alternative provision", AUTHORISED,
         "Excluded"),
    Code("Q", "Unable to attend: lack of access arrangements", NOT_POSSIBLE,
         "No transport arranged"),
    Code("Y1", "Unable to attend: transport normally provided not available", NOT_POSSIBLE,
         "Transport not available"),
    Code("Y2", "Unable to attend: widespread disruption to travel", NOT_POSSIBLE,
         "Travel disruption"),
    Code("Y3", "Unable to attend: part of the school premises closed", NOT_POSSIBLE,
         "Part of school closed"),
    Code("Y4", "Unable to attend: whole school site unexpectedly closed", NOT_POSSIBLE,
         "School closed"),
    Code("Y5", "Unable to attend: criminal justice detention", NOT_POSSIBLE, "Unable to attend"),
    Code("Y6", "Unable to attend: public health guidance or law", NOT_POSSIBLE,
         "Public health closure"),
    Code("Y7", "Unable to attend: any other unavoidable cause", NOT_POSSIBLE, "Unable to attend"),
    Code("G", "Holiday not granted by the school", UNAUTHORISED, "Holiday not agreed"),
    Code("N", "Reason not yet provided", UNAUTHORISED, "Reason not yet given"),
    Code("O", "Absent in other or unknown circumstances", UNAUTHORISED, "Unauthorised absence"),
    Code("U", "Arrived after the register closed", UNAUTHORISED, "Late after register closed"),
    Code("Z", "Prospective pupil not on the admission register", ADMIN, "Not yet on roll"),
    Code("#", "Planned whole or partial school closure", ADMIN, "School closed"),
]}


def codes_in(*categories: str) -> list[str]:
    return [c.code for c in CODES.values() if c.category in categories]


PRESENT_CODES = codes_in(PRESENT)
AEA_CODES = codes_in(AEA)
ATTENDED_CODES = codes_in(PRESENT, AEA)
AUTHORISED_CODES = codes_in(AUTHORISED)
UNAUTHORISED_CODES = codes_in(UNAUTHORISED)
POSSIBLE_CODES = codes_in(PRESENT, AEA, AUTHORISED, UNAUTHORISED)
NOT_POSSIBLE_CODES = codes_in(NOT_POSSIBLE)
ABSENCE_CODES = AUTHORISED_CODES + UNAUTHORISED_CODES
# Authorised absence for medical reasons: illness and medical or dental appointments. Schools
# may choose not to let these cost a child a 100% award (recognition, issue 19).
MEDICAL_CODES = ["I", "M"]

# Codes a person picks on a register (present is chosen per session: / or \).
MARKABLE_CODES = [c for c in CODES if c not in ("Z",)]

# Pre-2024 codes found in historic data (older seed policies, e.g. St Luke's code list) and
# what they become. Accepted only by ``import_marks --history``, never offered for new marks.
# Codes whose letter is unchanged since 2024 (/, \, L, B, C, D, E, G, I, M, N, O, P, R, S, T,
# U, V, W, X, Z, #) import as themselves.
LEGACY_CODE_MAP = {
    "H": "C",   # agreed family holiday (withdrawn 2013) -> leave, exceptional circumstances
    "F": "C",   # agreed extended family holiday (withdrawn 2013) -> leave, exceptional circumstances
    "Y": "Y7",  # pre-2024 "unable to attend due to exceptional circumstances" -> unavoidable cause
    "J": "J1",  # interview
}


def present_code(session: str) -> str:
    return "/" if session == "AM" else "\\"


def category_of(code: str) -> str:
    return CODES[code].category


