"""The school dashboards, at the same paths and URL names as when they lived in registers."""

from django.urls import path

from registers import converters  # noqa: F401  (registers.urls registers the converters)

from . import views

urlpatterns = [
    path("dashboard/", views.school_dashboard, name="dashboard"),
    path("dashboard/pupils/", views.dashboard_pupils, name="dashboard_pupils"),
    path("dashboard/today/", views.dashboard_today, name="dashboard_today"),
    path("dashboard/qa/", views.qa_report, name="dashboard_qa"),
    path("dashboard/targets/", views.dashboard_targets, name="dashboard_targets"),
    path("dashboard/export/<slug:table>.<slug:fmt>", views.dashboard_export,
         name="dashboard_export"),
]
