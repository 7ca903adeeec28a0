"""Merge values for a set of letters, gathered in a fixed number of queries.

``Bundle`` loads everything a chunk of letters needs at once (pupils, figures, bands,
correspondence contacts, meetings, leave decisions); ``Bundle.context(letter)`` then builds
one letter's merge dict without touching the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.db import connection
from django.utils import timezone

from escalation.services import active_bands, band_for
from registers.models import Contact, Pupil
from registers.school_year import learning_lost, school_year_start
from registers.selectors import Stats, stats_by_pupil

from .merge import OneDp, address_lines, label, learning_lost_table
from .models import LetterSettings

TOP_LEVEL_OVERRIDES = ("attendance", "meeting", "leave", "award")


def current_school():
    """The school whose schema is active (``schema_context`` only sets a stand-in tenant)."""
    from tenants.models import School

    tenant = getattr(connection, "tenant", None)
    if isinstance(tenant, School):
        return tenant
    return School.objects.get(schema_name=connection.schema_name)


def contact_dict(c: Contact) -> dict:
    name = " ".join(x for x in (c.title, c.forename, c.surname) if x)
    return {"name": name, "salutation": c.salutation,
            "address_label": label([name] + address_lines(c.address)),
            "address_lines": address_lines(c.address),
            "relationship": c.relationship, "email": c.email}


def joint_salutation(contacts: list[dict]) -> str:
    """'Dear Mrs Smith', or 'Dear Mrs Smith and Mr Jones' for two or more."""
    if not contacts:
        return "Dear Parent/Carer"
    names = [c["salutation"].removeprefix("Dear ").strip() for c in contacts]
    if len(names) == 1:
        return f"Dear {names[0]}"
    return "Dear " + ", ".join(names[:-1]) + " and " + names[-1]


def _meetings(pupil_ids) -> dict[int, dict]:
    """The pupil's next scheduled escalation meeting (or the latest one) if issue 4's model is there."""
    try:
        from escalation.models import Meeting
    except ImportError:  # pragma: no cover - escalation without meetings
        return {}
    out: dict[int, dict] = {}
    now = timezone.now()
    rows = (Meeting.objects.filter(case__pupil_id__in=list(pupil_ids), starts_at__isnull=False)
            .exclude(status="cancelled").select_related("case").order_by("starts_at"))
    for m in rows:
        pid = m.case.pupil_id
        current = out.get(pid)
        # Prefer the first meeting still to come; otherwise keep the latest past one.
        if current is None or (current["_at"] < now):
            local = timezone.localtime(m.starts_at)
            out[pid] = {"_at": m.starts_at, "date": local.date(),
                        "time": local.strftime("%-I:%M %p").lower().replace(":00 ", " "),
                        "type": m.get_kind_display(), "place": m.location, "case_id": m.case_id}
    return out


def _leave(pupil_ids) -> dict[int, dict]:
    try:
        from absences.models import LeaveDecision
    except ImportError:  # pragma: no cover
        return {}
    out: dict[int, dict] = {}
    for d in (LeaveDecision.objects.filter(request__pupil_id__in=list(pupil_ids))
              .select_related("request").order_by("decided_at")):
        r = d.request
        out[r.pupil_id] = {"start": r.first_day, "end": r.last_day,
                           "days_requested": OneDp(r.days_requested) if r.days_requested % 1 else
                           int(r.days_requested),
                           "days_granted": OneDp(d.days_granted) if d.days_granted % 1 else
                           int(d.days_granted),
                           "decision": d.get_outcome_display(), "reason": r.get_reason_display(),
                           "comment": d.reason}
    return out


NO_PART_TIME = {"start": "", "planned_end": "", "sessions": "", "sessions_per_week": "",
                "reason": "", "parent_agreed_on": "", "reviews": "",
                "social_worker_informed_on": "", "la_consulted_on": ""}


def _part_time(pupil_ids) -> dict[int, dict]:
    """Each pupil's most recent part-time timetable (registers.arrangements)."""
    from registers.arrangements import latest_timetables, slots_text

    out = {}
    for pid, t in latest_timetables(pupil_ids).items():
        out[pid] = {"start": t.start_date, "planned_end": t.planned_end,
                    "sessions": slots_text(t.sessions), "sessions_per_week": len(t.sessions),
                    "reason": t.reason, "parent_agreed_on": t.parent_agreed_on,
                    "reviews": ", ".join(f"{r.due:%-d %B %Y}" for r in t.reviews.all()),
                    "social_worker_informed_on": t.social_worker_informed_on or "",
                    "la_consulted_on": t.la_consulted_on or ""}
    return out


def _pct(s: Stats) -> tuple:
    return (OneDp(s.attendance_pct) if s.attendance_pct is not None else "",
            OneDp(s.absence_pct) if s.absence_pct is not None else "")


def school_dict(school, settings: LetterSettings) -> dict:
    return {"name": school.name, "address": school.address, "phone": school.phone,
            "email": school.email, "headteacher": school.headteacher, "la_name": school.la_name,
            "address_lines": address_lines(school.address), "note": settings.letterhead_note}


@dataclass
class Bundle:
    as_of: date
    pupils: dict[int, Pupil]
    stats: dict[int, Stats]
    contacts: dict[int, list[dict]]
    meetings: dict[int, dict]
    leave: dict[int, dict]
    part_time: dict[int, dict]
    bands: list
    school: dict
    settings: LetterSettings
    extra: dict = field(default_factory=dict)

    @classmethod
    def load(cls, pupil_ids, *, as_of: date | None = None) -> Bundle:
        as_of = as_of or timezone.localdate()
        ids = list(set(pupil_ids))
        pupils = {p.pk: p for p in Pupil.objects.filter(pk__in=ids).select_related("registration_group")}
        stats = stats_by_pupil(pupils=Pupil.objects.filter(pk__in=ids),
                               date_from=school_year_start(as_of), date_to=as_of)
        contacts: dict[int, list[dict]] = {}
        for c in Contact.objects.filter(pupil_id__in=ids, correspondence=True).order_by("pupil_id",
                                                                                      "priority"):
            contacts.setdefault(c.pupil_id, []).append(contact_dict(c))
        settings = LetterSettings.get()
        return cls(as_of=as_of, pupils=pupils, stats=stats, contacts=contacts,
                   meetings=_meetings(ids), leave=_leave(ids), part_time=_part_time(ids),
                   bands=active_bands(),
                   school=school_dict(current_school(), settings), settings=settings)

    def context(self, pupil_id: int, overrides: dict | None = None) -> dict:
        p = self.pupils[pupil_id]
        s = self.stats.get(pupil_id, Stats())
        pct, absence_pct = _pct(s)
        band = band_for(s.attendance_pct, self.bands)
        lost = learning_lost(s.absent)
        contacts = self.contacts.get(pupil_id, [])
        meeting = {k: v for k, v in self.meetings.get(pupil_id, {}).items() if not k.startswith("_")}
        signatory = self.settings.signatory_name or self.school["headteacher"]
        ctx = {
            "pupil": {"forename": p.forename, "surname": p.surname, "preferred_name": p.display_name,
                      "legal_forename": p.legal_forename, "legal_surname": p.legal_surname,
                      "legal_name": f"{p.legal_forename} {p.legal_surname}",
                      "class": p.registration_group.name, "year_group": p.get_year_group_display(),
                      "upn": p.upn, "date_of_birth": p.date_of_birth,
                      "admission_date": p.admission_date, "sen": p.get_sen_status_display()},
            "attendance": {"pct": pct, "absence_pct": absence_pct, "possible": s.possible,
                           "attended": s.attended, "sessions_missed": s.absent,
                           "authorised": s.authorised, "unauthorised": s.unauthorised,
                           "late": s.late_before_close, "late_after_close": s.late_after_close,
                           "band": band.name if band else "", "band_colour": band.colour if band else "",
                           "from": school_year_start(self.as_of), "to": self.as_of},
            "learning_lost": {"days": OneDp(lost["days"]), "weeks": OneDp(lost["weeks"]),
                              "hours": OneDp(lost["hours"])},
            "learning_lost_table": learning_lost_table(s.attendance_pct),
            "meeting": meeting or {"date": "", "time": "", "type": "", "place": ""},
            "contacts": contacts,
            "recipients": " and ".join(c["name"] for c in contacts) or "The Parent/Carer of "
                          + p.display_name,
            "salutation": joint_salutation(contacts),
            "address_label": contacts[0]["address_label"] if contacts else "",
            "school": self.school,
            "signatory": {"name": signatory, "title": self.settings.signatory_title},
            "attendance_lead": self.settings.attendance_lead,
            "today": self.as_of,
            "leave": self.leave.get(pupil_id, {"start": "", "end": "", "days_requested": "",
                                               "days_granted": "", "decision": "", "reason": "",
                                               "comment": ""}),
            # Filled by the letter's own context (recognition certificates).
            "award": {"title": "", "period": "", "date": ""},
            "part_time": self.part_time.get(pupil_id, NO_PART_TIME),
        }
        for key, value in (overrides or {}).items():
            if key in TOP_LEVEL_OVERRIDES and isinstance(value, dict):
                ctx[key] = {**ctx[key], **value}
        return ctx
