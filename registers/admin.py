from django import forms
from django.contrib import admin

from .calendar import school_days_rebuild
from .models import CalendarEntry, Contact, MarkAmendment, Pupil, PupilHistory, RegistrationGroup
from .pupils import history_context, marks_outside_roll, roll_change_refusal


@admin.register(CalendarEntry)
class CalendarEntryAdmin(admin.ModelAdmin):
    list_display = ("label", "kind", "start_date", "end_date")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        school_days_rebuild()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        school_days_rebuild()


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    exclude = ("user",)


class PupilAdminForm(forms.ModelForm):
    class Meta:
        model = Pupil
        fields = "__all__"  # noqa: DJ007 - the admin edits the whole record

    def clean(self):
        """New roll dates may not leave marks outside the roll (they would leave statistics)."""
        data = super().clean()
        admission, leaving = data.get("admission_date"), data.get("leaving_date")
        if self.instance.pk and admission:
            marks = marks_outside_roll({self.instance.pk: (admission, leaving)}).get(
                self.instance.pk)
            if marks:
                raise forms.ValidationError("These dates " + roll_change_refusal(
                    marks, admission, leaving) + ".")
        return data


@admin.register(Pupil)
class PupilAdmin(admin.ModelAdmin):
    """Changes made here are in the pupil's history with source "admin"."""

    form = PupilAdminForm
    list_display = ("legal_surname", "legal_forename", "upn", "registration_group", "leaving_date")
    search_fields = ("legal_surname", "legal_forename", "upn")
    list_filter = ("registration_group", "sen_status")
    inlines = [ContactInline]

    def changeform_view(self, request, *args, **kwargs):
        with history_context(source="admin", user=request.user):
            return super().changeform_view(request, *args, **kwargs)

    def delete_view(self, request, *args, **kwargs):
        with history_context(source="admin", user=request.user):
            return super().delete_view(request, *args, **kwargs)


@admin.register(PupilHistory)
class PupilHistoryAdmin(admin.ModelAdmin):
    """Read-only: the history is append-only."""

    list_display = ("at", "pupil_id", "field", "old_value", "new_value", "source", "user_name")
    list_filter = ("source",)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(MarkAmendment)
class MarkAmendmentAdmin(admin.ModelAdmin):
    """Read-only: the trail is append-only."""

    list_display = ("at", "pupil", "date", "session", "original_code", "new_code", "user_name")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


admin.site.register(RegistrationGroup)
