"""A school's host. No Django admin here: it is on the platform host only (urls_public)."""

from django.urls import include, path

urlpatterns = [
    path("", include("registers.urls")),
    path("", include("dashboards.urls")),
    path("absences/", include("absences.urls")),
    path("escalation/", include("escalation.urls")),
    path("letters/", include("letters.urls")),
    path("recognition/", include("recognition.urls")),
    path("accounts/people/", include("tenants.urls_people")),
    path("accounts/", include("tenants.urls")),
]

# The app's own error pages, with the navigation (attendance_site/errors.py).
handler400 = "attendance_site.errors.bad_request"
handler403 = "attendance_site.errors.permission_denied"
handler404 = "attendance_site.errors.page_not_found"
handler500 = "attendance_site.errors.server_error"
