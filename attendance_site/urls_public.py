from django.contrib import admin
from django.urls import include, path

from tenants import views, views_trust

urlpatterns = [
    path("", views.public_home, name="home"),
    path("accounts/", include("tenants.urls")),
    path("trust/<slug:slug>/", views_trust.trust_dashboard, name="trust_dashboard"),
    path("admin/", admin.site.urls),
]
