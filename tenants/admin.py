from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django_tenants.admin import TenantAdminMixin

from .models import Domain, Membership, School, Trust, TrustMembership, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(User)
class PersonAdmin(UserAdmin):
    """People are deactivated (untick "active"), not deleted: their names stay on the
    registers and audit trails they signed, which live in each school's schema."""

    inlines = [MembershipInline]
    actions = ["reset_two_factor"]

    @admin.action(description="Reset two-factor sign-in (lost phone and backup codes)")
    def reset_two_factor(self, request, queryset):
        from .twofactor import two_factor_reset

        for user in queryset:
            two_factor_reset(user=user)
        self.message_user(request, f"Two-factor sign-in removed for {queryset.count()} people.")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(School)
class SchoolAdmin(TenantAdminMixin, admin.ModelAdmin):
    list_display = ("name", "schema_name", "trust", "la_name", "preset")


admin.site.register([Trust, Domain, TrustMembership])
