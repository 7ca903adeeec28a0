from datetime import date

from django import forms

from registers.models import YEAR_GROUPS, RegistrationGroup

from .models import LAReturn, LetterSettings, LetterTemplate


class TemplateForm(forms.ModelForm):
    class Meta:
        model = LetterTemplate
        fields = ["key", "name", "kind", "subject", "active", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 22, "class": "font-monospace",
                                                 "spellcheck": "true"})}


class BatchForm(forms.Form):
    AUDIENCE = [("year", "A year group"), ("group", "A class"), ("band", "Pupils in a band"),
                ("all", "Every pupil on roll"), ("pupils", "Chosen pupils (UPNs)")]
    template = forms.ModelChoiceField(queryset=LetterTemplate.objects.filter(active=True))
    audience = forms.ChoiceField(choices=AUDIENCE, initial="year")
    year_group = forms.TypedChoiceField(choices=YEAR_GROUPS, coerce=int, required=False)
    group = forms.ModelChoiceField(queryset=RegistrationGroup.objects.all(), required=False,
                                   label="Class")
    band = forms.CharField(required=False, help_text="Band name, e.g. Red")
    upns = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                           label="UPNs", help_text="One per line")
    trigger_key = forms.CharField(
        required=False, max_length=120, label="Trigger",
        help_text="Pupils who already had a letter for this trigger are left out. "
                  "Blank: the template and this half term.")
    send_email = forms.BooleanField(required=False, initial=True,
                                    label="Email to contacts flagged for correspondence")


class SettingsForm(forms.ModelForm):
    class Meta:
        model = LetterSettings
        fields = ["signatory_name", "signatory_title", "attendance_lead", "letterhead_note",
                  "email_subject", "email_body", "regular_absence_pct", "regular_min_possible",
                  "continuous_days", "sickness_days", "cme_days", "new_pupil_due_days",
                  "exempt_junior_intake", "attendance_every", "sickness_every", "cme_every",
                  "new_pupils_every", "deletions_every", "hold_medical", "hold_send", "hold_part_time",
                  "hold_bereavement", "hold_looked_after"]
        widgets = {"email_body": forms.Textarea(attrs={"rows": 3})}


class ReturnGenerateForm(forms.Form):
    kind = forms.ChoiceField(choices=LAReturn.Kind.choices)
    period_start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    period_end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def clean(self):
        data = super().clean()
        if data.get("period_start") and data.get("period_end") and \
                data["period_start"] > data["period_end"]:
            raise forms.ValidationError("The period starts after it ends.")
        return data


class EvidenceForm(forms.Form):
    date_from = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
                                label="From")
    date_to = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), label="To",
                              initial=date.today)


class CensusForm(forms.Form):
    term = forms.ChoiceField(choices=[("autumn", "Autumn term (spring census)"),
                                      ("spring", "Spring term (summer census)"),
                                      ("summer", "Summer term (autumn census)")])
    year = forms.IntegerField(min_value=2000, max_value=2100, label="School year starting",
                              help_text="e.g. 2025 for 2025/26")
