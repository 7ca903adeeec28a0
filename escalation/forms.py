from django import forms

from tenants.roles import Role

from .models import AttendanceContract, CaseEvent, Meeting, MeetingType, PenaltyNotice, Stage, SupportPlan
from .services import PaymentOutcome

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class YearGroupField(forms.Field):
    """A year group as people type it: R, Reception, 4, Y4, Year 4, N1 (an int, or None)."""

    def to_python(self, value):
        from registers.models import year_group_from_text

        value = str(value or "").strip()
        if not value:
            return None
        year = year_group_from_text(value[:20])
        if year is None:
            raise forms.ValidationError(f"'{value[:20]}' is not a year group: use R, 1–14, N1 or N2.")
        return year


ID = {"required": False, "min_value": 1, "max_value": 2**63 - 1}


class QueueFilterForm(forms.Form):
    """The queue's filters. A bad value is dropped with a message; the queue still shows."""

    status = forms.ChoiceField(required=False, choices=[("live", "live"), ("open", "open"),
                                                        ("hold", "hold"), ("closed", "closed")])
    year = YearGroupField(required=False)
    class_ = forms.IntegerField(**ID)
    stage = forms.IntegerField(**ID)
    group = forms.CharField(required=False, max_length=20)
    owner = forms.CharField(required=False, max_length=40)
    track = forms.SlugField(required=False, max_length=30)

    def __init__(self, data, *args, **kwargs):
        data = data.copy()
        if "class" in data:  # "class" is the query parameter; class_ the field
            data["class_"] = data.pop("class")[-1]
        super().__init__(data, *args, **kwargs)

    def filters(self) -> dict:
        """The valid filters, by name; an invalid one is left out."""
        self.is_valid()
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}


class ContactForm(forms.Form):
    channel = forms.ChoiceField(label="Contact type", choices=CaseEvent.Channel.choices)
    detail = forms.CharField(label="What was said or agreed", widget=forms.Textarea(attrs={"rows": 2}))


class MeetingForm(forms.Form):
    kind = forms.ChoiceField(label="Meeting", choices=MeetingType.choices)
    starts_at = forms.DateTimeField(
        label="Date and time",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    location = forms.CharField(required=False)
    attendees = forms.CharField(required=False, label="Who will attend")


class OutcomeForm(forms.Form):
    outcome = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    meeting = forms.ModelChoiceField(
        queryset=Meeting.objects.none(), required=False, label="Outcome of meeting (optional)"
    )
    meeting_status = forms.ChoiceField(
        choices=[("held", "Held"), ("missed", "Parent did not attend")], required=False
    )

    def __init__(self, *args, case=None, **kwargs):
        super().__init__(*args, **kwargs)
        if case is not None:
            self.fields["meeting"].queryset = case.meetings.all()


class ToldForm(forms.Form):
    """The family was told at this stage outside the letters machinery (the warning issued by
    another service, a letter handed over): the monitoring clock starts that day."""

    on = forms.DateField(label="Told on", widget=DATE)
    how = forms.ChoiceField(label="How", choices=[("letter", "Warning letter issued (posted or handed over)"),
                                                  ("in_person", "Told in person at a meeting")])


class SignatureForm(forms.Form):
    signatory = forms.ChoiceField(label="Who signed", choices=[])
    name = forms.CharField(max_length=150)
    signed_on = forms.DateField(label="Signed on", widget=DATE)
    how = forms.ChoiceField(choices=[])

    def __init__(self, *args, **kwargs):
        from .models import ContractSignature

        super().__init__(*args, **kwargs)
        self.fields["signatory"].choices = ContractSignature.Signatory.choices
        self.fields["how"].choices = ContractSignature.How.choices


class CareFlagsForm(forms.Form):
    medical_evidence = forms.BooleanField(label="Medical evidence on file", required=False)
    bereaved_on = forms.DateField(label="Recent bereavement (date)", required=False, widget=DATE)


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=200)


class AdvanceForm(forms.Form):
    to_stage = forms.ModelChoiceField(
        queryset=Stage.objects.none(), required=False, label="Move to (default: the next stage)"
    )
    reason = forms.CharField(max_length=200, required=False)

    def __init__(self, *args, case=None, **kwargs):
        super().__init__(*args, **kwargs)
        if case is not None:
            self.fields["to_stage"].queryset = Stage.objects.filter(
                track=case.track, order__gt=case.stage.order, active=True
            )


class SupportPlanForm(forms.ModelForm):
    class Meta:
        model = SupportPlan
        fields = [
            "meeting_date",
            "present",
            "apologies",
            "part_time_timetable",
            "send_status",
            "barriers_school",
            "barriers_family",
            "agreed_actions",
            "review_date",
            "signed_parent",
            "signed_school",
            "signed_child",
        ]
        widgets = {
            "meeting_date": DATE,
            "review_date": DATE,
            **{
                f: forms.Textarea(attrs={"rows": 2})
                for f in ("part_time_timetable", "barriers_school", "barriers_family", "agreed_actions")
            },
        }


class ContractForm(forms.ModelForm):
    class Meta:
        model = AttendanceContract
        fields = [
            "joined_school",
            "start_date",
            "meeting_date",
            "last_in_school",
            "part_time_timetable",
            "previous_years",
            "send_status",
            "social_care",
            "professionals",
            "siblings",
            "barriers_school",
            "barriers_parent",
            "barriers_child",
            "interventions",
            "attendance_target",
            "timescale",
            "review_arrangements",
            "review_date",
            "other_business",
            "closed_date",
            "closure_reason",
        ]
        widgets = {
            "start_date": DATE,
            "meeting_date": DATE,
            "review_date": DATE,
            "closed_date": DATE,
            **{
                f: forms.Textarea(attrs={"rows": 2})
                for f in (
                    "part_time_timetable",
                    "professionals",
                    "siblings",
                    "barriers_school",
                    "barriers_parent",
                    "barriers_child",
                    "interventions",
                    "review_arrangements",
                    "other_business",
                )
            },
        }


class StageForm(forms.ModelForm):
    class Meta:
        model = Stage
        fields = [
            "key",
            "name",
            "track",
            "order",
            "trigger",
            "threshold",
            "threshold_inclusive",
            "band",
            "count",
            "window",
            "window_n",
            "min_possible",
            "letter_template",
            "meeting_type",
            "task",
            "referral",
            "owner_role",
            "review_days",
            "monitor_school_days",
            "next_stage",
            "description",
            "enforcement",
            "direct_entry",
            "direct_entry_reason",
            "once_per_year",
            "exit_threshold",
            "exit_after_days",
            "recovery_letter",
            "recovery_task",
            "active",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner_role"].choices = [
            (r.value, r.label) for r in (Role.ATTENDANCE_OFFICER, Role.HEAD, Role.TEACHER, Role.OFFICE)
        ]
        self.fields["exit_after_days"].required = False
        qs = Stage.objects.filter(active=True)
        if self.instance.pk:
            qs = qs.exclude(pk=self.instance.pk)
        self.fields["next_stage"].queryset = qs

    def clean_exit_after_days(self):
        value = self.cleaned_data.get("exit_after_days")
        return value if value is not None else (self.instance.exit_after_days or 28)


class PenaltyForm(forms.Form):
    parent = forms.ModelChoiceField(queryset=None)
    kind = forms.ChoiceField(choices=PenaltyNotice.Kind.choices)
    issued_on = forms.DateField(widget=DATE)
    notes = forms.CharField(required=False)

    def __init__(self, *args, pupil=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = pupil.contacts.all() if pupil else None


class OwnerForm(forms.Form):
    owner = forms.ModelChoiceField(queryset=None, required=False, label="Owner",
                                   empty_label="No named owner")

    def __init__(self, *args, case=None, **kwargs):
        from .services import case_owner_candidates

        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = case_owner_candidates(case=case)
        self.fields["owner"].label_from_instance = lambda u: u.get_full_name() or u.username


class PenaltyPaymentForm(forms.Form):
    outcome = forms.ChoiceField(choices=PaymentOutcome.choices)
    on = forms.DateField(widget=DATE, label="Date paid / referred")
