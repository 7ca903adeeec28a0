from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django_tenants.admin import TenantAdminMixin

from .models import Domain, Membership, School, Trust, TrustMembership, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(User)
class PersonAdmin(UserAdmin):
    inlines = [MembershipInline]


@admin.register(School)
class SchoolAdmin(TenantAdminMixin, admin.ModelAdmin):
    list_display = ("name", "schema_name", "trust", "la_name", "preset")


admin.site.register([Trust, Domain, TrustMembership])
