"""The school's people page (tenant hosts only)."""

from django.urls import path

from . import views_accounts as v

urlpatterns = [
    path("", v.people, name="people"),
    path("two-factor/", v.people_two_factor, name="people_two_factor"),
    path("two-factor/reset/", v.people_two_factor_reset, name="people_two_factor_reset"),
]
