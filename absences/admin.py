from django.contrib import admin

from .models import (
    AbsenceReport,
    AssessmentPeriod,
    ContactAttempt,
    ContactPreference,
    FamilyMessage,
    LeaveDecision,
    LeavePolicy,
    LeaveRequest,
)


class AssessmentInline(admin.TabularInline):
    model = AssessmentPeriod
    extra = 1


@admin.register(LeavePolicy)
class LeavePolicyAdmin(admin.ModelAdmin):
    inlines = [AssessmentInline]


@admin.register(AbsenceReport)
class AbsenceReportAdmin(admin.ModelAdmin):
    list_display = ("pupil", "reason", "first_day", "last_day", "status", "reported_at")
    list_filter = ("status", "reason")


@admin.register(LeaveRequest)
class LeaveRequestAdmin(admin.ModelAdmin):
    list_display = ("pupil", "reason", "first_day", "last_day", "status", "created_at")
    list_filter = ("status", "reason")


@admin.register(LeaveDecision)
class LeaveDecisionAdmin(admin.ModelAdmin):
    list_display = ("request", "outcome", "code", "decided_by_name", "decided_at")


@admin.register(ContactAttempt)
class ContactAttemptAdmin(admin.ModelAdmin):
    list_display = ("pupil", "outcome", "user_name", "at")


@admin.register(ContactPreference)
class ContactPreferenceAdmin(admin.ModelAdmin):
    list_display = ("contact", "channel")
    list_filter = ("channel",)


@admin.register(FamilyMessage)
class FamilyMessageAdmin(admin.ModelAdmin):
    list_display = ("pupil", "date", "session", "channel", "to", "status", "created_at")
    list_filter = ("status", "channel", "date")
    readonly_fields = [f.name for f in FamilyMessage._meta.fields]
