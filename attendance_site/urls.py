"""A school's host. No Django admin here: it is on the platform host only (urls_public)."""

from django.urls import include, path

urlpatterns = [
    path("", include("registers.urls")),
    path("absences/", include("absences.urls")),
    path("escalation/", include("escalation.urls")),
    path("letters/", include("letters.urls")),
    path("accounts/people/", include("tenants.urls_people")),
    path("accounts/", include("tenants.urls")),
]
