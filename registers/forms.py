from django import forms

from . import codes
from .models import Session


class AmendForm(forms.Form):
    day = forms.DateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}))
    session = forms.ChoiceField(choices=Session.choices)
    code = forms.ChoiceField(choices=[(c, f"{c} – {codes.CODES[c].meaning}")
                                      for c in codes.MARKABLE_CODES])
    minutes_late = forms.IntegerField(required=False, min_value=0, max_value=300,
                                      help_text="Only for L and U.")
    reason = forms.CharField(max_length=300, widget=forms.TextInput(
        attrs={"placeholder": "e.g. parent phoned: illness"}))


class ImportForm(forms.Form):
    file = forms.FileField(help_text="CSV, UTF-8, with a header row.")

    def clean_file(self):
        f = self.cleaned_data["file"]
        if f.size > 50 * 1024 * 1024:
            raise forms.ValidationError("The file is larger than 50 MB.")
        if not f.name.lower().endswith(".csv"):
            raise forms.ValidationError("Upload a .csv file.")
        return f
