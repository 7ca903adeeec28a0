from django.contrib import admin
from django.urls import include, path

from dashboards import views_trust
from tenants import views

urlpatterns = [
    path("", views.public_home, name="home"),
    path("accounts/", include("tenants.urls")),
    path("trust/<slug:slug>/", views_trust.trust_dashboard, name="trust_dashboard"),
    path("admin/", admin.site.urls),
]

# The app's own error pages, with the navigation (attendance_site/errors.py).
handler400 = "attendance_site.errors.bad_request"
handler403 = "attendance_site.errors.permission_denied"
handler404 = "attendance_site.errors.page_not_found"
handler500 = "attendance_site.errors.server_error"
