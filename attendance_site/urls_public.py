from django.contrib import admin
from django.urls import include, path

from tenants import views

urlpatterns = [
    path("", views.public_home, name="home"),
    path("accounts/", include("tenants.urls")),
    path("admin/", admin.site.urls),
]
