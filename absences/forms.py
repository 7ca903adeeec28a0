"""Forms collect and type the input; the rules live in absences.services."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from registers import codes

from .models import AbsenceReport, ContactAttempt, LeaveDecision, LeavePolicy, LeaveRequest
from .services import ABSENCE_REASONS, ACCEPT_CODES, LATE_ACCEPT_CODES, MAX_DOCUMENT_BYTES, RESOLVE_CODES


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kw):
        super().__init__(format="%Y-%m-%d", **kw)


FROM_SESSION = [("AM", _("From the start of the day")), ("PM", _("From the afternoon"))]
TO_SESSION = [("PM", _("To the end of the day")), ("AM", _("Morning only, back after lunch"))]


def _code_choices(codes_list):
    return [(c, f"{c} – {codes.CODES[c].meaning}") for c in codes_list]


class DatesMixin(forms.Form):
    first_day = forms.DateField(label=_("First day"), widget=DateInput())
    first_session = forms.ChoiceField(label=_("Starting"), choices=FROM_SESSION, initial="AM")
    last_day = forms.DateField(label=_("Last day"), widget=DateInput(),
                               help_text=_("The last day your child will be away."))
    last_session = forms.ChoiceField(label=_("Ending"), choices=TO_SESSION, initial="PM")


class EvidenceForm(forms.Form):
    evidence = forms.FileField(
        label=_("Evidence, for example an appointment card (optional)"), required=False,
        help_text=_("A photo or scan: PDF, JPEG or PNG, up to 5 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png,image/*"}))


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kw):
        super().__init__(format="%H:%M", **kw)


class ReportForm(DatesMixin, EvidenceForm):
    """An absence (the dates), or for today "Arrived late" with the time and why (issue 14)."""

    reason = forms.ChoiceField(label=_("Reason"), choices=AbsenceReport.Reason.choices,
                               widget=forms.RadioSelect)
    arrived_at = forms.TimeField(
        label=_("Arrived late: the time your child arrived (HH:MM)"), required=False,
        input_formats=["%H:%M", "%H.%M", "%H:%M:%S"], widget=TimeInput(),
        help_text=_("Only for \"Arrived late\": today, for example 09:25."),
        error_messages={"invalid": _("Write the time as hours and minutes, for example 09:25.")})
    late_because = forms.CharField(label=_("Arrived late: why was your child late?"), required=False,
                                   max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))
    details = forms.CharField(label=_("Anything the school should know (optional)"), required=False,
                              max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    field_order = ["reason", "arrived_at", "late_because", "first_day", "first_session", "last_day",
                   "last_session", "details", "evidence"]

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        # A late arrival is always today: the dates are needed only for an absence (clean).
        for name in ("first_day", "last_day"):
            self.fields[name].required = False

    @property
    def late_arrival(self) -> bool:
        return self.data.get(self.add_prefix("reason")) == AbsenceReport.Reason.LATE_ARRIVAL

    def clean(self):
        data = super().clean()
        if data.get("reason") != AbsenceReport.Reason.LATE_ARRIVAL:
            for name in ("first_day", "last_day"):
                if data.get(name) is None and name not in self.errors:
                    self.add_error(name, forms.Field.default_error_messages["required"])
        return data


class LeaveForm(DatesMixin):
    reason = forms.ChoiceField(label=_("Reason"), choices=LeaveRequest.Reason.choices,
                               widget=forms.RadioSelect)
    explanation = forms.CharField(label=_("Why are you asking for leave?"), max_length=4000,
                                  widget=forms.Textarea(attrs={"rows": 4}))
    field_order = ["first_day", "first_session", "last_day", "last_session", "reason", "explanation"]


class LeaveConfirmForm(LeaveForm):
    """The confirmation step: the checked request as hidden fields, plus the document."""

    document = forms.FileField(
        label=_("Supporting document (optional)"), required=False,
        help_text=_("PDF, JPEG or PNG, up to 5 MB: for example an appointment letter or licence."),
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}))

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        for name, field in self.fields.items():
            if name != "document":
                field.widget = forms.HiddenInput()

    def clean_document(self):
        f = self.cleaned_data.get("document")
        if f and f.size > MAX_DOCUMENT_BYTES:
            raise forms.ValidationError(_("The largest file you can upload is 5 MB."))
        return f


class AcceptForm(forms.Form):
    code = forms.ChoiceField(label=_("Code to record"), choices=_code_choices(ACCEPT_CODES))
    message = forms.CharField(label=_("Note to the parent (optional)"), required=False, max_length=1000)

    def __init__(self, *args, late_arrival: bool = False, **kw):
        super().__init__(*args, **kw)
        if late_arrival:  # L or U (with the minutes late), or an absence code instead
            self.fields["code"].choices = _code_choices(LATE_ACCEPT_CODES)


class PhonedReportForm(DatesMixin):
    """The office records an absence a parent phoned in (accepted at once)."""

    pupil = forms.IntegerField(widget=forms.HiddenInput())
    caller = forms.CharField(label=_("Who phoned"), max_length=150,
                             help_text=_("For example \"Mum, Pat Khan\"."))
    reason = forms.ChoiceField(label=_("Reason"), widget=forms.RadioSelect, choices=[
        c for c in AbsenceReport.Reason.choices if c[0] in ABSENCE_REASONS])
    code = forms.ChoiceField(label=_("Code to record"), required=False,
                             choices=[("", _("The usual code for the reason (I or M)"))]
                             + _code_choices(ACCEPT_CODES))
    details = forms.CharField(label=_("Notes from the call (optional)"), required=False,
                              max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    field_order = ["pupil", "caller", "reason", "code", "first_day", "first_session", "last_day",
                   "last_session", "details"]

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.fields["last_day"].help_text = _("The last day the pupil will be away.")


class QueryForm(forms.Form):
    message = forms.CharField(label=_("Question for the parent"), max_length=1000,
                              widget=forms.Textarea(attrs={"rows": 2}))


class DecideForm(forms.Form):
    outcome = forms.ChoiceField(choices=LeaveDecision.Outcome.choices)
    granted = forms.MultipleChoiceField(
        label=_("Sessions granted"), required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}))
    code = forms.ChoiceField(label=_("Code for granted sessions"),
                             choices=_code_choices(LeaveDecision.LEAVE_CODES))
    reason = forms.CharField(label=_("Reason or conditions (the parent reads this)"), required=False,
                             max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, sessions=(), **kw):
        super().__init__(*args, **kw)
        self.fields["granted"].choices = sessions


class ContactForm(forms.Form):
    outcome = forms.ChoiceField(label=_("What happened"), choices=[
        c for c in ContactAttempt.Outcome.choices if c[0] != ContactAttempt.Outcome.REASON_RECEIVED])
    note = forms.CharField(label=_("Note"), required=False, max_length=500)


class ResolveForm(forms.Form):
    sessions = forms.MultipleChoiceField(
        label=_("Sessions"), widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}))
    code = forms.ChoiceField(label=_("Code"), choices=_code_choices(RESOLVE_CODES), initial="I")
    note = forms.CharField(label=_("Reason given"), max_length=250)

    def __init__(self, *args, sessions=(), **kw):
        super().__init__(*args, **kw)
        self.fields["sessions"].choices = sessions


class PolicyForm(forms.ModelForm):
    class Meta:
        model = LeavePolicy
        fields = ["notice_days", "notice_months", "no_retrospective", "ro_days_cap",
                  "refuse_if_unauthorised", "refuse_if_authorised_above", "refuse_if_attendance_below",
                  "assessment_days_before",
                  "written_response", "how_to_report", "leave_guidance", "office_email"]
        widgets = {"how_to_report": forms.Textarea(attrs={"rows": 3}),
                   "leave_guidance": forms.Textarea(attrs={"rows": 3})}



class AssessmentPeriodForm(forms.Form):
    """One statutory assessment period (KS2 tests, phonics check, multiplication tables check)."""

    label = forms.CharField(label=_("Assessment"), max_length=100)
    start_date = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end_date = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    year_group = forms.IntegerField(label=_("Year group (blank: all)"), required=False, min_value=-2,
                                    max_value=14)


class MessageSettingsForm(forms.Form):
    """The school's first-day message (merge fields checked by absences.family_messages)."""

    template = forms.CharField(label=_("Message"), max_length=600, widget=forms.Textarea(attrs={"rows": 3}))
    email_subject = forms.CharField(label=_("Email subject"), max_length=200)
    send_on_close = forms.BooleanField(
        label=_("Send automatically when the register closes"), required=False,
        help_text=_("Within an hour of each register closing, every family of a pupil marked N "
                    "who has not had a message for that session is sent one."))

    text_when_school_writes = forms.BooleanField(
        label=_("Also send a text when the school writes"), required=False,
        help_text=_("When a letter is issued, a leave request decided or a report queried, the "
                    "family gets a portal message and an email in their language; tick to send "
                    "a text message as well."))

    def clean(self):
        from .family_messages import template_check

        data = super().clean()
        for name in ("template", "email_subject"):
            if data.get(name):
                try:
                    template_check(data[name])
                except ValidationError as exc:
                    self.add_error(name, exc)
        return data


class PreferenceForm(forms.Form):
    """A parent's choice of text message and/or email for school messages."""

    channel = forms.ChoiceField(label=_("How would you like messages from the school?"),
                                widget=forms.RadioSelect)

    def __init__(self, *args, **kw):
        from .models import ContactPreference

        super().__init__(*args, **kw)
        self.fields["channel"].choices = ContactPreference.Channel.choices


class LanguageForm(forms.Form):
    """The parent's language (settings.LANGUAGES, each name in its own language)."""

    language = forms.ChoiceField(label=_("Language"))

    def __init__(self, *args, **kw):
        from django.conf import settings

        super().__init__(*args, **kw)
        self.fields["language"].choices = settings.LANGUAGES
