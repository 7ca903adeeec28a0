from django import forms

from . import codes
from .models import CalendarEntry, DeletionGround, Session


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
