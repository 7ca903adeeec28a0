from django import forms

from .models import Benchmark, RecognitionSettings, Rule


class SettingsForm(forms.ModelForm):
    class Meta:
        model = RecognitionSettings
        fields = ["fair_alternative", "improved_margin", "improved_weeks", "draw_winners",
                  "competition_lateness", "competition_to_parents", "trust_sees_names"]
        widgets = {"fair_alternative": forms.RadioSelect}

    def clean_improved_weeks(self):
        v = self.cleaned_data["improved_weeks"]
        if not 1 <= v <= 39:
            raise forms.ValidationError("Between 1 and 39 school weeks.")
        return v

    def clean_improved_margin(self):
        v = self.cleaned_data["improved_margin"]
        if not 0 < v <= 100:
            raise forms.ValidationError("More than 0 and at most 100 points.")
        return v

    def clean_draw_winners(self):
        v = self.cleaned_data["draw_winners"]
        if not 1 <= v <= 100:
            raise forms.ValidationError("Between 1 and 100 winners.")
        return v


RuleFormSet = forms.modelformset_factory(
    Rule, fields=["name", "qualifies", "gift", "years", "active"], extra=1, can_delete=False)


class ActionForm(forms.Form):
    """An action on the list for a period: print certificates, record a gift, draw."""

    ACTIONS = [("print", "Print certificates"), ("record", "Record as given"), ("draw", "Prize draw")]
    action = forms.ChoiceField(choices=ACTIONS)
    pupils = forms.TypedMultipleChoiceField(coerce=int, required=False)
    gift = forms.ChoiceField(choices=Rule.Gift.choices, required=False)
    winners = forms.IntegerField(min_value=1, max_value=100, required=False)

    def __init__(self, *args, pupil_ids=(), **kw):
        super().__init__(*args, **kw)
        self.fields["pupils"].choices = [(i, i) for i in pupil_ids]


class CallDoneForm(forms.Form):
    notes = forms.CharField(max_length=300, required=False)


class BenchmarkForm(forms.ModelForm):
    class Meta:
        model = Benchmark
        fields = ["label", "measure", "value", "source", "period"]

    def clean_value(self):
        v = self.cleaned_data["value"]
        if not 0 <= v <= 100:
            raise forms.ValidationError("A percentage from 0 to 100.")
        return v
