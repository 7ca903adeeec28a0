"""Every URL of the project against every kind of visitor (table-driven).

The tables below name each URL pattern once, with the roles that get past its role check.
``test_every_tenant_url_is_in_the_table`` compares them with the patterns Django actually
resolves, so a new URL that is not added here fails the suite.

For each URL: anonymous visitors are sent to sign in (or get 404/405) and never 200; staff of
another school get 404; members without the role get 403 (or 404); the roles that may use it
get through; GET never changes data; a POST from a refused visitor changes nothing. Then the
specific boundaries: parents and other families' children, governors and safeguarding flags,
LA officers and drafts, CSRF, uploaded files, and the sign-in rate limit.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import date

import pytest
from django.apps import apps
from django.conf import settings
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import Resolver404, URLResolver, get_resolver, resolve

from tests.conftest import client_for
from tests.factories import (
    AbsenceReportFactory,
    CaseFactory,
    ContactFactory,
    LeaveRequestFactory,
    LetterFactory,
    RegistrationGroupFactory,
)

# --- who ------------------------------------------------------------------------------------

ANON, OTHER = "anonymous", "other_school_office"
OFFICE, TEACHER, AO, HEAD = "office", "teacher", "attendance_officer", "head"
GOV, TD, LA, PARENT = "governor", "trust_director", "la_officer", "parent"
DSL = "dsl"  # designated safeguarding lead: reads every pupil's record, marks nothing
MEMBERS = frozenset({OFFICE, TEACHER, AO, HEAD, GOV, TD, LA, PARENT, DSL})
EVERYONE = (*sorted(MEMBERS), OTHER, ANON)

WHOLE = frozenset({OFFICE, AO, HEAD})            # WHOLE_SCHOOL_MARKERS == ADMIN_STAFF
MARKERS = WHOLE | {TEACHER}
PUPIL_READERS = MARKERS | {DSL}
REPORTS = frozenset({HEAD, AO, GOV, TD})          # REPORT_READERS
ESC = frozenset({AO, HEAD})                       # escalation, letter managers, return editors
LISTS = REPORTS & MARKERS                         # PUPIL_REPORT_READERS: lists behind figures
FIGURES_ONLY = frozenset({GOV, TD})               # registers.disclosure: aggregates only
LETTER_READERS = WHOLE
NONE = frozenset()

DAY = date(2026, 1, 6)  # a Tuesday in term (tests/conftest.py calendar)


@dataclass(frozen=True)
class U:
    """One URL pattern: an example path and who gets through its role check.

    ``method``: "GET" (reads only), "FORM" (GET shows a form, POST changes data) or "POST"
    (POST only). ``post_roles`` defaults to ``roles``. ``data`` is a POST body that would
    change something if the role check let it through (keys and values are formatted with
    the test's objects too).
    """

    path: str
    roles: frozenset
    method: str = "GET"
    post_roles: frozenset | None = None
    data: dict = field(default_factory=dict)

    @property
    def posters(self) -> frozenset:
        return self.roles if self.post_roles is None else self.post_roles


TENANT_URLS: dict[str, U] = {
    # registers
    "home": U("/", MEMBERS),
    "my_register": U("/register/", MARKERS),
    "register": U("/register/{group}/{day}/AM/", MARKERS, "FORM",
                  data={"all_present": "on", "code-{child}": "/"}),
    "office_today": U("/office/", WHOLE),
    # issue 17: the week grid and the class year view
    "week_grid": U("/register/{group}/week/{day}/", MARKERS),
    "class_year": U("/register/{group}/year/", MARKERS),
    "office_session": U("/office/{day}/AM/", WHOLE),
    "pupil_list": U("/pupils/", PUPIL_READERS),
    "pupil_detail": U("/pupils/{child}/", PUPIL_READERS | {PARENT}),
    "mark_amend": U("/pupils/{child}/amend/", WHOLE, "POST",
                    data={"day": "{day}", "session": "AM", "code": "I", "reason": "phoned"}),
    "pupil_leave": U("/pupils/{child}/leave/", WHOLE, "POST",
                     data={"leaving_date": "{day}", "ground": "other_school"}),
    "calendar": U("/calendar/", WHOLE, "FORM",
                  data={"kind": "closure", "start_date": "{day}", "end_date": "{day}",
                        "label": "Snow"}),
    "import_upload": U("/imports/pupils/", WHOLE, "FORM"),
    # a pupil's arrangements (registers.arrangements)
    "session_pattern": U("/pupils/{child}/pattern/", WHOLE, "FORM",
                         data={"label": "Mornings", "sessions": "MON-AM",
                               "start_date": "2025-09-02"}),
    "part_time_new": U("/pupils/{child}/part-time/", ESC, "FORM",
                       data={"start_date": "{day}", "planned_end": "2026-01-30",
                             "sessions": "MON-AM", "reason": "Anxiety",
                             "parent_agreed_on": "{day}", "review_dates": "2026-01-20",
                             "social_worker_informed_on": "{day}"}),
    "part_time_list": U("/part-time/", WHOLE),
    "part_time_export": U("/part-time/export.csv", WHOLE),
    "part_time_update": U("/part-time/{timetable}/", ESC, "POST", data={"action": "end"}),
    "arrangements_fill": U("/office/{day}/AM/arrangements/", WHOLE, "POST"),
    "offsite_new": U("/pupils/{child}/off-site/", WHOLE, "FORM",
                     data={"provider": "Bridge PRU", "provider_contact": "Ms Reed", "code": "K",
                           "sessions": "FRI-AM", "start_date": "{day}", "reason": "AP"}),
    "offsite_list": U("/off-site/", WHOLE),
    "not_full_time": U("/not-full-time/", ESC | {LA}),
    "not_full_time_export": U("/not-full-time/export.csv", ESC | {LA}),
    "cover": U("/office/cover/", WHOLE, "FORM",
               data={"group": "{group}", "day": "{day}", "user": "{cover_teacher}"}),
    "cover_remove": U("/office/cover/{cover}/remove/", WHOLE, "POST"),
    "offsite_end": U("/off-site/{provision}/end/", WHOLE, "POST"),
    "offsite_confirm": U("/off-site/confirm/", WHOLE, "FORM",
                         data={"outcome-{provision}-20260106-PM": "attended"}),
    "removal_candidates": U("/off-roll/twenty-days/", WHOLE),
    "removal_enquiries": U("/pupils/{child}/enquiries/", WHOLE, "FORM",
                           data={"kind": "calls", "done_on": "{day}", "notes": "No answer"}),
    "ctf_import": U("/transfers/ctf/import/", WHOLE, "FORM"),
    "ctf_export": U("/transfers/ctf/export/", WHOLE, "FORM"),
    "census": U("/transfers/census/", WHOLE, "FORM", data={"census": "spring", "year": "2026"}),
    "dfe_daily": U("/transfers/dfe/?week={day}", WHOLE, "FORM", data={"day": "{day}"}),
    "export_all_download": U("/transfers/export-all/", frozenset({HEAD}), "FORM"),
    "dashboard": U("/dashboard/", REPORTS),
    "dashboard_pupils": U("/dashboard/pupils/?from={day}&to={day}&cohort=all", LISTS),
    "dashboard_today": U("/dashboard/today/?day={day}&state=no_reason", LISTS),
    "dashboard_qa": U("/dashboard/qa/", REPORTS),
    "dashboard_targets": U("/dashboard/targets/", frozenset({HEAD}), "FORM",
                           data={"attendance_target": "95", "dfe_improvement_target": "94.5"}),
    "dashboard_export": U("/dashboard/export/headline.csv", REPORTS),
    # absences: parents
    "absences:portal": U("/absences/", {PARENT}),
    "absences:child": U("/absences/children/{child}/", {PARENT}),
    "absences:report_new": U("/absences/children/{child}/report/", {PARENT}, "FORM",
                             data={"reason": "illness", "first_day": "{day}", "last_day": "{day}",
                                   "first_session": "AM", "last_session": "PM"}),
    "absences:leave_new": U("/absences/children/{child}/leave/", {PARENT}, "FORM"),
    "absences:message_preference": U("/absences/children/{child}/messages/", {PARENT}, "POST",
                                     data={"pref-channel": "email"}),
    "absences:language": U("/absences/language/", {PARENT}, "POST", data={"language": "pl"}),
    "absences:leave_detail": U("/absences/leave/{leave}/", WHOLE | {PARENT}),
    "absences:leave_letter": U("/absences/leave/{leave}/letter/", WHOLE | {PARENT}),
    "absences:leave_document": U("/absences/leave/{leave}/document/", WHOLE | {PARENT}),
    "absences:report_evidence": U("/absences/reports/{report}/evidence/", WHOLE | {PARENT}),
    "absences:report_evidence_add": U("/absences/reports/{report}/evidence/add/", {PARENT}, "POST"),
    # absences: the office and the head
    "absences:inbox": U("/absences/inbox/", WHOLE),
    "absences:report_accept": U("/absences/reports/{report}/accept/", WHOLE, "POST",
                                data={"r{report}-code": "I"}),
    "absences:report_phoned": U("/absences/reports/phoned/", WHOLE, "POST",
                                data={"pupil": "{child}", "reason": "illness", "first_day": "{day}",
                                      "first_session": "AM", "last_day": "{day}",
                                      "last_session": "PM", "caller": "Mum", "code": "I"}),
    "absences:report_query": U("/absences/reports/{report}/query/", WHOLE, "POST",
                               data={"q{report}-message": "Which days?"}),
    "absences:leave_mark_g": U("/absences/leave/{pending}/mark-g/", WHOLE, "POST"),
    "absences:unexplained": U("/absences/unexplained/", WHOLE),
    "absences:contact_log": U("/absences/unexplained/{child}/log/", WHOLE, "POST",
                              data={"c{child}-outcome": "called"}),
    "absences:resolve": U("/absences/unexplained/{child}/resolve/", WHOLE, "POST",
                          data={"x{child}-sessions": "{day} AM", "x{child}-code": "I",
                                "x{child}-note": "ill"}),
    # issue 14: first-day messages
    "absences:first_day_send": U("/absences/messages/{day}/AM/send/", WHOLE, "POST",
                                 data={"pupil": "{child}"}),
    "absences:first_day_refresh": U("/absences/messages/{day}/AM/refresh/", WHOLE, "POST"),
    "absences:message_settings": U("/absences/messages/template/", WHOLE, "FORM",
                                   data={"template": "Hello {{forename}}", "email_subject": "Hi"}),
    # issue 17: register reminders
    "absences:register_remind": U("/absences/reminders/send/", WHOLE, "POST",
                                  data={"group": "{group}", "day": "{day}", "session": "AM"}),
    "absences:reminder_settings": U("/absences/reminders/", WHOLE, "FORM",
                                    data={"minutes_after_close": "10"}),
    "absences:queue": U("/absences/leave/", {HEAD}),
    "absences:decide": U("/absences/leave/{pending}/decide/", {HEAD}, "FORM",
                         data={"outcome": "refused", "reason": "No."}),
    "absences:policy": U("/absences/rules/", {HEAD}, "FORM"),
    "absences:assessment_add": U("/absences/rules/assessments/add/", {HEAD}, "POST",
                                 data={"label": "KS2", "start_date": "2027-05-10", "end_date": "2027-05-13"}),
    "absences:assessment_delete": U("/absences/rules/assessments/{period}/delete/", {HEAD}, "POST"),
    "absences:assessment_carry": U("/absences/rules/assessments/carry/", {HEAD}, "POST",
                                   data={"from_year": "2025"}),
    # escalation
    # issue 17: letters and messages from a case
    "letters:case_letter": U("/letters/case/{case}/letter/", ESC, "POST", data={"template": "{template}"}),
    "letters:case_message": U("/letters/case/{case}/message/", ESC, "POST",
                              data={"contact": "{contact}", "body": "Please call us"}),
    "letters:case_letter_email": U("/letters/letter/{letter}/email/", ESC, "POST"),
    "letters:case_letter_delivered": U("/letters/letter/{letter}/delivered/", ESC, "POST",
                                       data={"how": "posted"}),
    "esc_queue": U("/escalation/", ESC),
    # a class teacher reaches only the cases of their classes at a teacher-owned stage (the
    # world's case is the attendance officer's: 404; tests/escalation/test_views_owners.py)
    "esc_my_cases": U("/escalation/cases/mine/", ESC | {TEACHER}),
    "esc_case": U("/escalation/cases/{case}/", ESC),
    "esc_case_action": U("/escalation/cases/{case}/contact/", ESC, "POST",
                         data={"channel": "call", "detail": "Spoke to mum"}),
    "esc_plan": U("/escalation/cases/{case}/forms/plan/", ESC, "FORM"),
    "esc_contract": U("/escalation/cases/{case}/forms/contract/", ESC, "FORM"),
    "esc_contract_sign": U("/escalation/cases/{case}/contracts/{contract}/sign/", ESC, "POST",
                           data={"signatory": "parent", "name": "Pat", "signed_on": "{day}", "how": "paper"}),
    "esc_care_flags": U("/escalation/cases/{case}/care/", ESC, "POST",
                        data={"medical_evidence": "on", "bereaved_on": "{day}"}),
    "esc_class_lists": U("/escalation/classes/", ESC | {TEACHER, OFFICE}),
    "esc_class_list": U("/escalation/classes/{group}/", ESC | {TEACHER, OFFICE}),
    "esc_penalties": U("/escalation/penalties/", ESC),
    "esc_penalty_issue": U("/escalation/penalties/{child}/issue/", ESC, "POST",
                           data={"parent": "{contact}", "kind": "penalty", "issued_on": "{day}"}),
    "esc_penalty_withdraw": U("/escalation/penalties/notices/{notice}/withdraw/", ESC, "POST",
                              data={"reason": "Paid"}),
    "esc_penalty_payment": U("/escalation/penalties/notices/{notice}/payment/", ESC, "POST",
                             data={"outcome": "paid", "on": "{day}"}),
    "esc_policy": U("/escalation/policy/", ESC, "FORM", data={"copy_preset": "cheetwood"}),
    "esc_stage_new": U("/escalation/policy/stages/new/", ESC, "FORM"),
    "esc_stage_edit": U("/escalation/policy/stages/{stage}/", ESC, "FORM"),
    # letters
    "letters:home": U("/letters/", LETTER_READERS),
    "letters:template_new": U("/letters/templates/new/", ESC, "FORM"),
    "letters:template_edit": U("/letters/templates/{template}/", ESC, "FORM"),
    "letters:template_preview": U("/letters/templates/preview/", ESC, "POST",
                                  data={"body": "Hello", "pupil": "{child}"}),
    "letters:batch_new": U("/letters/batches/new/", ESC, "FORM",
                           data={"template": "{template}", "audience": "all",
                                 "trigger_key": "sec:test"}),
    "letters:batch_queued": U("/letters/batches/queued/", ESC, "POST"),
    "letters:batch_detail": U("/letters/batches/{batch}/", LETTER_READERS),
    "letters:batch_progress": U("/letters/batches/{batch}/progress/", LETTER_READERS),
    "letters:batch_combined": U("/letters/batches/{batch}/print.pdf", LETTER_READERS),
    "letters:batch_all": U("/letters/batches/{batch}/all.pdf", LETTER_READERS),
    "letters:batch_retry": U("/letters/batches/{batch}/retry/", ESC, "POST"),
    "letters:batch_printed": U("/letters/batches/{batch}/printed/", LETTER_READERS, "POST"),
    "letters:letter_pdf": U("/letters/letter/{letter}.pdf", LETTER_READERS | {PARENT}),
    "letters:letter_check": U("/letters/letter/{letter}/check/", ESC, "POST",
                              data={"answer": "sent"}),
    "letters:letter_posted": U("/letters/letter/{letter}/posted/", ESC, "POST", data={"on": "{day}"}),
    "letters:review": U("/letters/review/", ESC),
    "letters:letter_release": U("/letters/letter/{letter}/release/", ESC, "POST"),
    "letters:letter_cancel": U("/letters/letter/{letter}/cancel/", ESC, "POST", data={"reason": "No"}),
    "letters:plan_pdf": U("/letters/plans/{plan}.pdf", ESC),
    "letters:contract_pdf": U("/letters/contracts/{contract}.pdf", ESC),
    "letters:pupil_letters": U("/letters/pupil/{child}/", LETTER_READERS),
    "letters:pupil_document": U("/letters/pupil/{child}/document/", ESC, "POST",
                                data={"template": "{template}"}),
    "letters:evidence_pdf": U("/letters/pupil/{child}/evidence.pdf", ESC),
    "letters:settings": U("/letters/settings/", ESC, "FORM"),
    "letters:return_list": U("/letters/returns/", ESC | {LA}, "FORM", post_roles=ESC,
                             data={"kind": "cme", "period_start": "2026-01-01",
                                   "period_end": "2026-01-31"}),
    "letters:return_detail": U("/letters/returns/{submitted}/", ESC | {LA}, "FORM",
                               post_roles=NONE, data={"action": "submit"}),
    "letters:return_export": U("/letters/returns/{submitted}/export.csv", ESC | {LA}),
    "letters:census": U("/letters/census/", ESC),
    # recognition (issue 19): the attendance lead and head; staff see the class competition;
    # parents their own children's awards
    "recognition:home": U("/recognition/", ESC, "FORM", data={"action": "record", "gift": "badge"}),
    "recognition:settings": U("/recognition/settings/", ESC, "FORM",
                              data={"s-fair_alternative": "none", "s-improved_margin": "5",
                                    "s-improved_weeks": "6", "s-draw_winners": "3",
                                    "r-TOTAL_FORMS": "0", "r-INITIAL_FORMS": "0"}),
    "recognition:draw": U("/recognition/draws/{draw}/", ESC),
    "recognition:improvers": U("/recognition/improvers/", ESC, "FORM", data={"action": "calls"}),
    "recognition:call_done": U("/recognition/calls/{call}/done/", WHOLE, "POST",
                               data={"notes": "Mum pleased"}),
    "recognition:early_warning": U("/recognition/early-warning/", ESC | {DSL}),
    "recognition:benchmarks": U("/recognition/benchmarks/", ESC, "FORM",
                                data={"label": "Leeds", "measure": "attendance", "value": "94.1",
                                      "source": "LA termly data", "period": "Autumn 2025"}),
    "recognition:trust": U("/recognition/trust/", {TD}),
    "recognition:groups": U("/recognition/groups/", LISTS),
    "recognition:competition": U("/recognition/competition/", MARKERS),
    "recognition:poster": U("/recognition/competition/poster/", MARKERS),
    "recognition:my_awards": U("/recognition/children/", {PARENT}),
    "recognition:certificate_pdf": U("/recognition/awards/{award}/certificate.pdf", PUPIL_READERS | {PARENT}),
    # accounts: the school's people page (account managers, tenants/roles.ACCOUNT_MANAGERS)
    "people": U("/accounts/people/", {HEAD}, "FORM",
                data={"email": "new@example.org", "first_name": "New", "last_name": "Person",
                      "role": "teacher"}),
    "people_two_factor": U("/accounts/people/two-factor/", {HEAD}, "POST",
                           data={"require_two_factor": "on"}),
    "people_two_factor_reset": U("/accounts/people/two-factor/reset/", {HEAD}, "POST",
                                 data={"user": "1"}),
}
# Sign-in pages: open to everyone by nature, tested on their own below.
TENANT_AUTH = {"login", "logout"}
# Password change and reset, invitations and two-factor sign-in (tests/tenants/test_accounts.py,
# test_twofactor.py): open to anyone by nature, or to any signed-in person for their own account.
ACCOUNT_PAGES = {"password_change", "password_change_done", "password_reset", "password_reset_done",
                 "password_reset_confirm", "password_reset_complete", "invitation_accept",
                 "invitation_complete", "account_security", "two_factor_setup",
                 "two_factor_verify", "two_factor_backup"}
TENANT_AUTH |= ACCOUNT_PAGES
PUBLIC_URLS = {"home", "login", "logout", "trust_dashboard"} | ACCOUNT_PAGES


# --- URL enumeration --------------------------------------------------------------------

def patterns(urlconf: str):
    """(key, route) of every pattern: key is the namespaced name, or the route if unnamed."""
    def walk(pats, prefix="", ns=""):
        for p in pats:
            if isinstance(p, URLResolver):
                inner = f"{ns}:{p.namespace}" if ns and p.namespace else (p.namespace or ns)
                yield from walk(p.url_patterns, prefix + str(p.pattern), inner)
            else:
                route = prefix + str(p.pattern)
                key = (f"{ns}:{p.name}" if ns else p.name) if p.name else route
                yield key, route
    return list(walk(get_resolver(urlconf).url_patterns))


def is_admin(route: str) -> bool:
    return route.startswith("admin/")


def admin_path(route: str) -> str:
    """An example path for an admin route: ids of 1, the registers app, an unknown page."""
    route = route.replace("^", "").replace("$", "")
    route = re.sub(r"\(\?P<app_label>[^)]*\)", "registers", route)
    route = re.sub(r"\(\?P<url>[^)]*\)", "no-such-page/", route)
    return "/" + re.sub(r"<[^>]+>", "1", route)


def test_every_tenant_url_is_in_the_table():
    resolved = {k for k, route in patterns(settings.ROOT_URLCONF) if not is_admin(route)}
    assert resolved == set(TENANT_URLS) | TENANT_AUTH, (
        "URL patterns without a row in TENANT_URLS (add them with their roles): "
        f"{sorted(resolved - set(TENANT_URLS) - TENANT_AUTH)}; rows for patterns that no "
        f"longer exist: {sorted((set(TENANT_URLS) | TENANT_AUTH) - resolved)}")


def test_every_public_url_is_covered():
    resolved = {k for k, route in patterns(settings.PUBLIC_SCHEMA_URLCONF) if not is_admin(route)}
    assert resolved == PUBLIC_URLS


def _callbacks(urlconf: str):
    def walk(pats, ns=""):
        for p in pats:
            if isinstance(p, URLResolver):
                inner = f"{ns}:{p.namespace}" if ns and p.namespace else (p.namespace or ns)
                yield from walk(p.url_patterns, inner)
            elif p.name:
                yield (f"{ns}:{p.name}" if ns else p.name), p.callback
    return walk(get_resolver(urlconf).url_patterns)


def _role_checked(func) -> bool:
    while func is not None:
        if func.__code__.co_qualname == "role_required.<locals>.decorator.<locals>.wrapped":
            return True
        func = getattr(func, "__wrapped__", None)
    return False


def test_every_tenant_view_goes_through_role_required():
    """Except home (it checks membership itself) and the sign-in pages."""
    unchecked = sorted(k for k, cb in _callbacks(settings.ROOT_URLCONF)
                       if k in TENANT_URLS and k != "home" and not _role_checked(cb))
    assert unchecked == []


# --- the school's objects ------------------------------------------------------------------

@pytest.fixture(autouse=True)
def _media(media_root):
    """Pages that write files (letters, exports) write them to a folder of the test's own."""


def _pdf() -> bytes:
    from pypdf import PdfWriter

    out = io.BytesIO()
    w = PdfWriter()
    w.add_blank_page(width=72, height=72)
    w.write(out)
    return out.getvalue()


PDF = _pdf()


@pytest.fixture
def world(calendar, make_pupil, people):
    """A family's child (with CP/LAC flags) and another family's child, each with a leave
    request (decided, with a document), a letter, plus a case, notice, batch and returns."""
    from absences.models import AssessmentPeriod, LeaveDecision, LeavePolicy
    from escalation.models import PenaltyNotice, Stage
    from letters.models import Batch, LAReturn, Letter, LetterSettings, LetterTemplate
    from registers.models import Mark

    child = make_pupil(group="3B", legal_forename="Amira", legal_surname="Khanfamily",
                       serial=901, child_protection=True, lac=True)
    other = make_pupil(group="3B", legal_forename="Oscar", legal_surname="Otherfamily",
                       serial=902)
    group = child.registration_group
    group.teachers.add(people[TEACHER])
    contact = ContactFactory(pupil=child, forename="Pat", surname="Khanfamily",
                             user=people[PARENT], correspondence=True,
                             email="pat@example.org", address="1 High St")
    ContactFactory(pupil=other, forename="Olu", surname="Otherfamily",
                   email="olu@example.org")
    Mark.objects.bulk_create([Mark(pupil=p, date=DAY, session=s, code="N")
                              for p in (child, other) for s in ("AM", "PM")])

    def leave(pupil, *, decided, name):
        lr = LeaveRequestFactory(
            pupil=pupil, first_day=date(2026, 3, 2), last_day=date(2026, 3, 2),
            sessions=["2026-03-02 AM", "2026-03-02 PM"], reason="exceptional",
            explanation="Funeral", status="granted" if decided else "pending",
            document=ContentFile(PDF, name=f"{name}.pdf"))
        if decided:
            LeaveDecision.objects.create(request=lr, outcome="granted", code="C",
                                         granted_sessions=lr.sessions, decided_by_name="Head",
                                         decided_by_role="Head", letter_html="<p>Granted</p>")
        return lr

    batch = Batch.objects.create(label="Test batch", combined=ContentFile(PDF, name="c.pdf"))

    def letter(pupil, key):
        return LetterFactory(pupil=pupil, template_key="traffic_light", trigger_key=key,
                             status=Letter.Status.EMAILED, batch=batch,
                             file=ContentFile(PDF, name=f"{key}.pdf"))

    LetterSettings.get()  # the settings row is made on first use (a GET would make it)
    stage = Stage.objects.filter(active=True).first()
    case = CaseFactory(pupil=child, track=stage.track, stage=stage, opened_on=DAY,
                       stage_since=DAY, owner_role="attendance_officer")
    from recognition import services as recognition_services
    from recognition.models import Award, PositiveCall, PrizeDraw
    from registers.models import PartTimeTimetable

    recognition_services.settings_get()  # made on first use, like the letter settings

    def award(pupil, letter):
        return Award.objects.create(pupil=pupil, title="100% attendance", gift="certificate",
                                    period_label="Autumn 1", period_start=date(2025, 9, 1),
                                    period_end=date(2025, 10, 24), letter=letter, given_on=DAY)

    own_letter, other_letter = letter(child, "own"), letter(other, "theirs")
    recognition = {
        "award": award(child, own_letter), "other_award": award(other, other_letter),
        "draw": PrizeDraw.objects.create(title="Draw", period_label="Autumn 1", seed="abc",
                                         period_start=date(2025, 9, 1), period_end=date(2025, 10, 24),
                                         entrants=[child.pk], wanted=1, winners=[child.pk]),
        "call": PositiveCall.objects.create(pupil=child, reason="Improved", created_on=DAY),
    }
    timetable = PartTimeTimetable.objects.create(
        pupil=other, start_date=DAY, planned_end=date(2026, 1, 30), sessions=["MON-AM"],
        reason="Anxiety", parent_agreed_on=DAY)
    from escalation.models import AttendanceContract, SupportPlan

    plan = SupportPlan.objects.create(case=case, meeting_date=DAY, agreed_actions="Walk to school",
                                      review_date=date(2026, 2, 10))
    contract = AttendanceContract.objects.create(
        case=case, start_date=DAY, interventions="Breakfast club", attendance_target="95%",
        timescale="3 months", review_date=date(2026, 2, 10))
    period = AssessmentPeriod.objects.create(
        policy=LeavePolicy.objects.first() or LeavePolicy.objects.create(), label="Phonics check",
        start_date=date(2026, 6, 8), end_date=date(2026, 6, 12), year_group=1)
    from registers.models import OffSiteProvision

    provision = OffSiteProvision.objects.create(
        pupil=other, provider="Bridge PRU", provider_contact="Ms Reed", code="K",
        sessions=["TUE-PM"], start_date=DAY, reason="AP")
    from registers.models import RegisterCover

    other_group = RegistrationGroupFactory(name="4Z", year_group=4)
    cover = RegisterCover.objects.create(group=other_group, day=DAY, user=people[TEACHER],
                                         assigned_by="Office")
    return {
        "period": period, "plan": plan, "contract": contract,
        "timetable": timetable, "provision": provision, "cover": cover,
        "cover_teacher": people[TEACHER],
        "child": child, "other": other, "group": group, "contact": contact,
        "leave": leave(child, decided=True, name="own"),
        "pending": leave(child, decided=False, name="pending"),
        "other_leave": leave(other, decided=True, name="theirs"),
        "letter": own_letter, "other_letter": other_letter, **recognition,
        "batch": batch, "case": case, "stage": stage,
        "template": LetterTemplate.objects.filter(active=True).first(),
        "notice": PenaltyNotice.objects.create(
            pupil=child, parent=contact, kind="nti", issued_on=DAY, window_start=DAY,
            window_end=DAY, unauthorised_sessions=10),
        "report": AbsenceReportFactory(pupil=child, reason="illness", first_day=DAY,
                                       reported_by=people[PARENT],
                                       last_day=DAY, evidence_type="application/pdf",
                                       evidence=ContentFile(PDF, name="card.pdf")),
        "submitted": LAReturn.objects.create(kind="attendance", period_start=date(2025, 9, 1),
                                             period_end=date(2025, 9, 30), status="submitted"),
        "draft": LAReturn.objects.create(kind="sickness", period_start=date(2025, 9, 1),
                                         period_end=date(2025, 9, 30)),
    }


def ids(world) -> dict:
    return {k: getattr(v, "pk", v) for k, v in world.items()} | {"day": DAY.isoformat()}


def fill(text: str, world) -> str:
    return text.format(**ids(world))


def post_data(u: U, world) -> dict:
    return {fill(k, world): fill(v, world) for k, v in u.data.items()}


def visitor(people, who) -> Client:
    return client_for(None if who == ANON else people[who])


def fingerprint() -> str:
    """A hash of every row of every school-schema table: any write changes it."""
    h = hashlib.sha256()
    for label in settings.TENANT_APPS:
        if "." in label:
            continue
        for model in apps.get_app_config(label).get_models():
            h.update(model._meta.db_table.encode())
            h.update(repr(list(model.objects.order_by("pk").values_list())).encode())
    return h.hexdigest()


def refused(who: str, response, allowed_roles) -> str | None:
    """Why the response is wrong for a visitor who must be refused, or None if it is right."""
    code = response.status_code
    if who == ANON:
        ok = (code == 302 and response["Location"].startswith("/accounts/login/")) or \
            code in (404, 405)
    elif who == OTHER:
        ok = code == 404
    else:
        ok = code in (403, 404)
    return None if ok else f"{who}: {code}"


# --- the role matrix ----------------------------------------------------------------------------

GET_URLS = sorted(k for k, u in TENANT_URLS.items() if u.method in ("GET", "FORM"))
POST_URLS = sorted(k for k, u in TENANT_URLS.items() if u.method in ("POST", "FORM"))
ONLY_POST = sorted(k for k, u in TENANT_URLS.items() if u.method == "POST")


@pytest.mark.parametrize("name", GET_URLS)
def test_get_by_every_visitor_and_get_changes_nothing(world, people, name):
    u = TENANT_URLS[name]
    url = fill(u.path, world)
    before = fingerprint()
    problems = []
    for who in EVERYONE:
        r = visitor(people, who).get(url)
        if who in u.roles:
            if r.status_code not in (200, 302):
                problems.append(f"{who} (allowed): {r.status_code}")
        elif why := refused(who, r, u.roles):
            problems.append(why)
    assert problems == [], f"{name} {url}"
    assert fingerprint() == before, f"GET {url} changed data"


@pytest.mark.parametrize("name", ONLY_POST)
def test_post_only_urls_refuse_get(world, people, name):
    url = fill(TENANT_URLS[name].path, world)
    for who in TENANT_URLS[name].posters:
        assert visitor(people, who).get(url).status_code == 405, (name, who)


@pytest.mark.parametrize("name", POST_URLS)
def test_post_by_refused_visitors_changes_nothing(world, people, name):
    u = TENANT_URLS[name]
    url, data = fill(u.path, world), post_data(u, world)
    before = fingerprint()
    problems = []
    for who in EVERYONE:
        if who in u.posters:
            continue
        r = visitor(people, who).post(url, data)
        if why := refused(who, r, u.posters):
            problems.append(why)
    assert problems == [], f"POST {name} {url}"
    assert fingerprint() == before, f"a refused POST to {url} changed data"


# --- admin: only platform superusers, only on the platform host ---------------------------------

ADMIN_ROUTES = sorted({(k, r) for k, r in patterns("attendance_site.urls_public") if is_admin(r)})


def test_admin_routes_are_on_the_platform_host_only():
    assert ADMIN_ROUTES
    assert not [r for _, r in patterns("attendance_site.urls") if is_admin(r)]


@pytest.mark.parametrize("who", [ANON, HEAD, PARENT, OTHER, TD])
def test_admin_is_closed_to_everyone_but_platform_staff(world, people, who):
    client = client_for(None if who == ANON else people[who], host="localhost")
    problems = []
    for key, route in ADMIN_ROUTES:
        r = client.get(admin_path(route))
        if key == "admin:login":
            continue  # the admin's own sign-in form
        ok = r.status_code in (404, 405) or (
            r.status_code == 302 and (r["Location"].startswith("/admin/login/")
                                      or (key == "admin:logout" and r["Location"] == "/admin/")
                                      or key == route))  # unnamed: redirect to .../change/
        if not ok:
            problems.append(f"{key} {admin_path(route)}: {r.status_code}")
    assert problems == []


# --- parents: their own children only ------------------------------------------------------

FAMILY_URLS = {
    "pupil_detail": ("child", "other"), "absences:child": ("child", "other"),
    "absences:report_new": ("child", "other"), "absences:leave_new": ("child", "other"),
    "absences:leave_detail": ("leave", "other_leave"),
    "absences:leave_letter": ("leave", "other_leave"),
    "absences:leave_document": ("leave", "other_leave"),
    "letters:letter_pdf": ("letter", "other_letter"),
    "recognition:certificate_pdf": ("award", "other_award"),
}


@pytest.mark.parametrize("name", sorted(FAMILY_URLS))
def test_parent_sees_own_child_and_404_for_another_family(world, people, name):
    own, theirs = FAMILY_URLS[name]
    path = TENANT_URLS[name].path
    key = re.search(r"\{(child|leave|letter|award)\}", path).group(1)
    parent = visitor(people, PARENT)
    mine = parent.get(fill(path, world))
    assert mine.status_code == 200
    other_url = fill(path.replace("{" + key + "}", "{" + theirs + "}"), world)
    assert parent.get(other_url).status_code == 404
    assert parent.post(other_url, {"reason": "illness", "first_day": DAY, "last_day": DAY,
                                   "step": "submit"}).status_code == 404


def test_parent_gets_no_staff_page(world, people):
    staff_pages = [k for k, u in TENANT_URLS.items() if PARENT not in u.roles]
    parent = visitor(people, PARENT)
    for name in staff_pages:
        u = TENANT_URLS[name]
        method = parent.post if u.method == "POST" else parent.get
        assert method(fill(u.path, world)).status_code in (403, 404), name


def test_parent_report_for_another_family_is_not_saved(world, people):
    from absences.models import AbsenceReport

    n = AbsenceReport.objects.count()
    r = visitor(people, PARENT).post(f"/absences/children/{world['other'].pk}/report/", {
        "reason": "illness", "first_day": DAY, "last_day": DAY, "first_session": "AM",
        "last_session": "PM"})
    assert r.status_code == 404 and AbsenceReport.objects.count() == n


def test_a_draft_letter_is_not_served_to_the_parent(world, people):
    from letters.models import Letter

    Letter.objects.filter(pk=world["letter"].pk).update(status=Letter.Status.RENDERED)
    assert visitor(people, PARENT).get(f"/letters/letter/{world['letter'].pk}.pdf") \
        .status_code == 404


# --- governors: figures, never pupil records or safeguarding flags --------------------------

def _pupils_csv(client, **extra) -> list[dict]:
    r = client.get("/dashboard/pupils/", {"from": DAY, "to": DAY, "cohort": "all",
                                         "format": "csv", **extra})
    assert r.status_code == 200
    return list(csv.DictReader(io.StringIO(r.content.decode())))


def test_governor_never_sees_pupil_records_or_safeguarding_flags(world, people):
    head_rows = _pupils_csv(visitor(people, HEAD))
    assert any("CP" in r["Flags"] and "LAC" in r["Flags"] for r in head_rows)  # meaningful
    gov = visitor(people, GOV)
    # No pupil-level list at all (not even anonymised initials), whatever the query.
    for q in ({"format": "csv", "cohort": "all"}, {"lac": "1"}, {}):
        assert gov.get("/dashboard/pupils/", q).status_code == 403, q
    assert gov.get("/dashboard/today/", {"day": DAY, "state": "no_reason"}).status_code == 403
    for url in (f"/pupils/{world['child'].pk}/", "/pupils/", f"/escalation/cases/{world['case'].pk}/",
                f"/letters/pupil/{world['child'].pk}/"):
        assert gov.get(url).status_code == 403, url


def test_trust_director_gets_no_safeguarding_flags(world, people):
    td = visitor(people, TD)
    for q in ({"format": "csv", "cohort": "all"}, {"lac": "1"}):
        assert td.get("/dashboard/pupils/", q).status_code == 403, q


# --- figures-only viewers: every dashboard URL and export, every filter -------------------------

DASHBOARD_TABLES = ("headline", "bands", "year_groups", "classes", "pupil_groups", "weekdays",
                    "sessions", "codes", "trophy", "weekly")
FIGURE_URLS = (["/dashboard/", "/dashboard/qa/", "/dashboard/qa/?format=pdf"]
               + [f"/dashboard/export/{t}.{fmt}" for t in DASHBOARD_TABLES for fmt in ("csv", "xlsx")])
# Safeguarding groups (asked for by any name) and every other narrowing of the figures.
SAFEGUARDING_QUERIES = ["lac=1", "lac=0", "child_protection=1", "cp=1", "cin=1", "social_worker=1",
                        "young_carer=1", "LAC=1"]
OTHER_FILTERS = ["year_group=3", "group={group}", "gender=F", "pp=1", "sen=E", "eal=1", "band=1",
                 "code=N", "measure=pa", "dow=2", "session=AM"]


def _with(url: str, query: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{query}"


@pytest.mark.parametrize("who", sorted(FIGURES_ONLY))
@pytest.mark.parametrize("url", FIGURE_URLS)
def test_figures_only_viewers_get_aggregates_and_no_filters(world, people, who, url):
    client = visitor(people, who)
    r = client.get(url, {"from": DAY, "to": DAY} if "?" not in url else None)
    assert r.status_code == 200, url
    body = r.content if url.endswith(("xlsx", "pdf")) else r.content.decode()
    for child in (world["child"], world["other"]):
        for secret in (child.legal_surname, child.upn, f"/pupils/{child.pk}/"):
            assert (secret.encode() if isinstance(body, bytes) else secret) not in body
    if isinstance(body, str):
        assert "/dashboard/pupils/" not in body and "/dashboard/today/" not in body
        assert "Looked after" not in body and "LAC" not in body
    refused = [q for q in SAFEGUARDING_QUERIES + OTHER_FILTERS
               if client.get(_with(url, fill(q, world))).status_code != 403]
    assert refused == [], url


@pytest.mark.parametrize("url", FIGURE_URLS[:2] + ["/dashboard/export/pupil_groups.csv"])
def test_staff_with_pupil_records_keep_their_filters(world, people, url):
    head = visitor(people, HEAD)
    assert head.get(_with(url, "lac=1")).status_code == 200
    assert "Looked after" in head.get("/dashboard/export/pupil_groups.csv").content.decode()


@pytest.mark.parametrize("who", sorted(FIGURES_ONLY))
def test_figures_only_viewers_have_no_todays_registers(world, people, who):
    client = visitor(people, who)
    assert client.get("/dashboard/export/today.csv").status_code == 404
    assert 'data-table="today"' not in client.get("/dashboard/").content.decode()


def test_trust_dashboard_refuses_every_filter(world, people, school_a):
    td = client_for(people[TD], host="localhost")
    url = f"/trust/{school_a.trust.slug}/"
    for fmt in ("", "format=csv", "format=xlsx"):
        assert td.get(_with(url, fmt) if fmt else url).status_code == 200
        for q in SAFEGUARDING_QUERIES + OTHER_FILTERS:
            assert td.get(_with(url, "&".join(filter(None, [fmt, fill(q, world)])))) \
                .status_code == 403, (fmt, q)


# --- child protection: the DSL, the head and the attendance lead only ---------------------------

def test_child_protection_flag_only_for_safeguarding_readers(world, people, make_pupil):
    pages = [f"/pupils/{world['child'].pk}/", "/pupils/"]
    for who in (HEAD, AO, DSL):
        for url in pages:
            html = visitor(people, who).get(url).content.decode()
            assert ">CP<" in html and "See the DSL" not in html, (who, url)
    for who in (OFFICE, TEACHER):
        for url in pages + [f"/register/{world['group'].pk}/{DAY}/AM/"]:
            html = visitor(people, who).get(url).content.decode()
            assert ">CP<" not in html and "See the DSL" in html, (who, url)


def test_teacher_opens_only_pupils_of_own_classes(world, people, make_pupil):
    stranger = make_pupil(group="6Z", year_group=6, legal_forename="Zed", serial=903)
    teacher = visitor(people, TEACHER)
    assert teacher.get(f"/pupils/{stranger.pk}/").status_code == 404
    assert f"/pupils/{stranger.pk}/" not in teacher.get("/pupils/?q=Zed").content.decode()
    assert visitor(people, DSL).get(f"/pupils/{stranger.pk}/").status_code == 200


# --- LA officers: submitted returns only ---------------------------------------------------

def test_la_officer_reads_submitted_returns_only(world, people):
    la = visitor(people, LA)
    sub, draft = world["submitted"].pk, world["draft"].pk
    assert la.get(f"/letters/returns/{sub}/").status_code == 200
    assert la.get(f"/letters/returns/{sub}/export.csv").status_code == 200
    assert la.get(f"/letters/returns/{draft}/").status_code == 404
    assert la.get(f"/letters/returns/{draft}/export.csv").status_code == 404
    assert la.get(f"/letters/returns/{draft}/export.pdf").status_code == 404
    listing = la.get("/letters/returns/").content.decode()
    assert f"/letters/returns/{sub}/" in listing and f"/letters/returns/{draft}/" not in listing
    readable = {k for k, u in TENANT_URLS.items() if LA in u.roles}
    # Submitted returns, and the school's children not in school full time (section 38:
    # registers.section38, issue 13), nothing else.
    assert readable == {"home", "letters:return_list", "letters:return_detail",
                        "letters:return_export", "not_full_time", "not_full_time_export"}
    assert la.get("/letters/census/").status_code == 403
    assert la.get(f"/letters/pupil/{world['child'].pk}/evidence.pdf").status_code == 403


# --- CSRF ----------------------------------------------------------------------------------------

def test_csrf_is_enforced(world, people):
    from absences.models import ContactAttempt

    client = Client(HTTP_HOST="a.localhost", enforce_csrf_checks=True)
    client.force_login(people[OFFICE])
    url = f"/absences/unexplained/{world['child'].pk}/log/"
    data = {f"c{world['child'].pk}-outcome": "called"}
    assert client.post(url, data).status_code == 403
    assert not ContactAttempt.objects.exists()
    client.get("/absences/unexplained/")
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    assert client.post(url, {**data, "csrfmiddlewaretoken": token}).status_code == 302
    assert ContactAttempt.objects.count() == 1


# --- uploaded files: only through permission-checked views -----------------------------------

def test_media_folder_is_not_routed(world, people):
    for urlconf in (settings.ROOT_URLCONF, settings.PUBLIC_SCHEMA_URLCONF):
        for f in (world["letter"].file, world["leave"].document, world["batch"].combined):
            with pytest.raises(Resolver404):
                resolve(f.url, urlconf=urlconf)
    head = visitor(people, HEAD)
    for f in (world["letter"].file, world["leave"].document):
        assert head.get(f.url).status_code == 404
        assert visitor(people, ANON).get(f.url).status_code == 404
    media = str(settings.MEDIA_ROOT)
    assert not any(media.startswith(str(d)) or str(d).startswith(media)
                   for d in [*settings.STATICFILES_DIRS, settings.STATIC_ROOT])


def test_uploaded_files_are_served_by_checked_views(world, people):
    head = visitor(people, HEAD)
    for url in (f"/absences/leave/{world['leave'].pk}/document/",
                f"/letters/letter/{world['letter'].pk}.pdf",
                f"/letters/batches/{world['batch'].pk}/print.pdf"):
        r = head.get(url)
        assert r.status_code == 200 and b"".join(r.streaming_content).startswith(b"%PDF")
        assert visitor(people, OTHER).get(url).status_code == 404
        assert visitor(people, TEACHER).get(url).status_code == 403


# --- sign-in ---------------------------------------------------------------------------------------

def test_sign_in_pages(world, people):
    anon = visitor(people, ANON)
    assert anon.get("/accounts/login/").status_code == 200
    # Signing out changes state: GET must not do it (Django's LogoutView is POST-only).
    head = visitor(people, HEAD)
    assert head.get("/accounts/logout/").status_code == 405
    assert head.get("/dashboard/").status_code == 200
    assert head.post("/accounts/logout/").status_code == 302
    assert head.get("/dashboard/").status_code == 302


def test_logins_are_rate_limited_by_configuration():
    """The behaviour is covered by tests/tenants/test_lockout_sign_in.py::test_logins_are_rate_limited."""
    assert "axes.middleware.AxesMiddleware" in settings.MIDDLEWARE
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert 0 < settings.AXES_FAILURE_LIMIT <= 5


# --- the public host --------------------------------------------------------------------------

def test_public_host(world, people, school_a):
    public = lambda who: client_for(None if who == ANON else people[who], host="localhost")  # noqa: E731
    slug = school_a.trust.slug
    assert public(ANON).get("/").status_code == 200
    r = public(ANON).get(f"/trust/{slug}/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")
    for who in (HEAD, OFFICE, GOV, PARENT, LA, OTHER):
        assert public(who).get(f"/trust/{slug}/").status_code == 404, who
    assert public(TD).get(f"/trust/{slug}/").status_code == 200
    assert public(TD).get("/trust/no-such-trust/").status_code == 404
    for who in (ANON, HEAD, TD):
        assert public(who).get("/admin/").status_code == 302
