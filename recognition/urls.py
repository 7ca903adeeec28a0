from django.urls import path

from . import views

app_name = "recognition"

urlpatterns = [
    # The attendance lead and the head
    path("", views.home, name="home"),
    path("settings/", views.settings_edit, name="settings"),
    path("draws/<int:pk>/", views.draw_detail, name="draw"),
    path("improvers/", views.improvers, name="improvers"),
    path("calls/<int:pk>/done/", views.call_done, name="call_done"),
    path("early-warning/", views.early_warning, name="early_warning"),
    path("benchmarks/", views.benchmarks, name="benchmarks"),
    path("groups/", views.groups, name="groups"),
    # The trust director: the trust's own schools
    path("trust/", views.trust, name="trust"),
    # Staff
    path("competition/", views.competition, name="competition"),
    path("competition/poster/", views.poster, name="poster"),
    # Parents (and staff for any pupil)
    path("children/", views.my_awards, name="my_awards"),
    path("awards/<int:pk>/certificate.pdf", views.certificate_pdf, name="certificate_pdf"),
]
