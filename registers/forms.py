from django import forms

from . import codes
from .models import (
    SESSION_SLOTS,
    CalendarEntry,
    DeletionGround,
    OffSiteProvision,
    RemovalEnquiry,
    Session,
)


class AmendForm(forms.Form):
    day = forms.DateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    session = forms.ChoiceField(choices=Session.choices)
    code = forms.ChoiceField(choices=[(c, f"{c} – {codes.CODES[c].meaning}")
                                      for c in codes.MARKABLE_CODES])
    minutes_late = forms.IntegerField(required=False, min_value=0, max_value=300,
                                      help_text="Only for L and U.")
    reason = forms.CharField(max_length=300, widget=forms.TextInput(
        attrs={"placeholder": "e.g. parent phoned: illness"}))


class PupilSearchForm(forms.Form):
    """The pupil list's filters: a bad value is ignored with a message, never an error page."""

    q = forms.CharField(required=False, max_length=100)
    group = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1)


class ImportForm(forms.Form):
    file = forms.FileField(max_length=200,
                           help_text="CSV with a header row: UTF-8, UTF-16 or Windows-1252.")

    def clean_file(self):
        f = self.cleaned_data["file"]
        if f.size > 50 * 1024 * 1024:
            raise forms.ValidationError("The file is larger than 50 MB.")
        if not f.name.lower().endswith(".csv"):
            raise forms.ValidationError("Upload a .csv file.")
        return f


class OffRollForm(forms.Form):
    leaving_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    ground = forms.ChoiceField(label="Deletion ground", choices=DeletionGround.choices)
    override_reason = forms.CharField(
        required=False, max_length=300, label="Head's override reason",
        help_text="Only for the head, when the 20-day conditions are not all met.")


class CalendarEntryForm(forms.ModelForm):
    class Meta:
        model = CalendarEntry
        fields = ["kind", "start_date", "end_date", "label"]
        widgets = {"start_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                   "end_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def clean(self):
        data = super().clean()
        start, end = data.get("start_date"), data.get("end_date")
        if start and end and end < start:
            raise forms.ValidationError("The entry ends before it starts.")
        if start and end and data.get("kind") == CalendarEntry.Kind.TERM and \
                CalendarEntry.objects.filter(kind="term", start_date__lte=end,
                                             end_date__gte=start).exists():
            raise forms.ValidationError("This term overlaps another term.")
        if start and end and data.get("kind") == CalendarEntry.Kind.CLOSURE and not \
                CalendarEntry.objects.filter(kind="term", start_date__lte=start,
                                             end_date__gte=end).exists():
            raise forms.ValidationError("A closure must fall inside a term.")
        return data


# --- arrangements (registers.arrangements) -----------------------------------------------

def _date_input(**kw):
    return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), **kw)


class SessionPatternForm(forms.Form):
    label = forms.CharField(max_length=100, help_text='e.g. "15 hours: five mornings"')
    sessions = forms.MultipleChoiceField(choices=SESSION_SLOTS, widget=forms.CheckboxSelectMultiple,
                                         help_text="The sessions the pupil is expected in; "
                                                   "the others are X.")
    start_date = _date_input()
    end_date = _date_input(required=False)


class PartTimeTimetableForm(forms.Form):
    start_date = _date_input()
    planned_end = _date_input(help_text="DfE guidance: no more than 6 weeks.")
    sessions = forms.MultipleChoiceField(choices=SESSION_SLOTS, widget=forms.CheckboxSelectMultiple,
                                         label="Sessions attended",
                                         help_text="Every other session is C2.")
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    parent_agreed_on = _date_input(label="Parent agreed on")
    review_dates = forms.CharField(max_length=400, help_text="One or more dates (YYYY-MM-DD), "
                                                            "separated by commas.")
    social_worker_informed_on = _date_input(required=False, label="Social worker informed on")
    la_consulted_on = _date_input(required=False, label="EHC plan: LA consulted on")
    la_notified_on = _date_input(required=False, label="LA notified on")

    def clean_review_dates(self):
        from datetime import date

        out = []
        for part in self.cleaned_data["review_dates"].replace(";", ",").split(","):
            part = part.strip()
            if not part:
                continue
            try:
                out.append(date.fromisoformat(part))
            except ValueError:
                raise forms.ValidationError(f"'{part[:20]}' is not a date (YYYY-MM-DD).") from None
        return out


class OffSiteProvisionForm(forms.Form):
    provider = forms.CharField(max_length=200, label="Provider",
                               help_text="The alternative provision, or the other school of a "
                                         "dual-registered pupil.")
    provider_contact = forms.CharField(max_length=300, label="Provider contact",
                                       help_text="Name, phone and email of the person who "
                                                 "reports attendance.")
    code = forms.ChoiceField(choices=OffSiteProvision.Code.choices, label="Code",
                             widget=forms.RadioSelect,
                             help_text="B: provision the school arranged (counts as attended); "
                                       "K: provision the local authority arranged (attended); D: "
                                       "dual registered, at the other school (not a possible "
                                       "session here).")
    sessions = forms.MultipleChoiceField(choices=SESSION_SLOTS, widget=forms.CheckboxSelectMultiple,
                                         label="Sessions at the provider")
    start_date = _date_input()
    end_date = _date_input(required=False, help_text="Leave empty while it continues.")
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class CoverForm(forms.Form):
    group = forms.ModelChoiceField(queryset=None, label="Class")
    day = _date_input(label="Day")
    user = forms.ModelChoiceField(queryset=None, label="Member of staff",
                                  help_text="Takes the class's registers on that day only.")

    def __init__(self, *args, staff, groups, **kw):
        super().__init__(*args, **kw)
        self.fields["group"].queryset = groups
        self.fields["user"].queryset = staff
        self.fields["user"].label_from_instance = lambda u: u.get_full_name() or u.username


class RemovalEnquiryForm(forms.Form):
    kind = forms.ChoiceField(choices=RemovalEnquiry.Kind.choices)
    done_on = _date_input()
    notes = forms.CharField(required=False, max_length=300)


class SchoolTargetsForm(forms.Form):
    """The head's two targets for the dashboard: the school's own and the DfE's."""

    attendance_target = forms.DecimalField(label="School attendance target (%)", min_value=50,
                                           max_value=100, decimal_places=1, max_digits=4)
    dfe_improvement_target = forms.DecimalField(
        label="DfE attendance improvement target (%)", required=False, min_value=50, max_value=100,
        decimal_places=1, max_digits=4,
        help_text="As given to the school by the DfE; leave empty if none has been set.")
