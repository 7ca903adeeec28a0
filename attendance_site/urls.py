from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("registers.urls")),
    path("absences/", include("absences.urls")),
    path("escalation/", include("escalation.urls")),
    path("letters/", include("letters.urls")),
    path("accounts/people/", include("tenants.urls_people")),
    path("accounts/", include("tenants.urls")),
    path("admin/", admin.site.urls),
]
