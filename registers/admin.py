from django.contrib import admin

from .calendar import school_days_rebuild
from .models import CalendarEntry, Contact, MarkAmendment, Pupil, RegistrationGroup


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


@admin.register(Pupil)
class PupilAdmin(admin.ModelAdmin):
    list_display = ("legal_surname", "legal_forename", "upn", "registration_group", "leaving_date")
    search_fields = ("legal_surname", "legal_forename", "upn")
    list_filter = ("registration_group", "sen_status")
    inlines = [ContactInline]


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
