from django.urls import path, register_converter

from . import converters, views, views_arrangements, views_ctf, views_grid

register_converter(converters.IsoDateConverter, "isodate")
register_converter(converters.SessionConverter, "session")

urlpatterns = [
    path("", views.home, name="home"),
    path("register/", views.my_register, name="my_register"),
    path("register/<int:group_id>/<isodate:day>/<session:session>/", views.register_take,
         name="register"),
    path("register/<int:group_id>/week/<isodate:day>/", views_grid.week_grid, name="week_grid"),
    path("register/<int:group_id>/year/", views_grid.class_year, name="class_year"),
    path("office/", views.office_today, name="office_today"),
    path("office/<isodate:day>/<session:session>/", views.office_session, name="office_session"),
    path("pupils/", views.pupil_list, name="pupil_list"),
    path("pupils/<int:pk>/", views.pupil_detail, name="pupil_detail"),
    path("pupils/<int:pk>/amend/", views.mark_amend, name="mark_amend"),
    path("pupils/<int:pk>/leave/", views.pupil_leave, name="pupil_leave"),
    path("calendar/", views.calendar_page, name="calendar"),
    # a pupil's arrangements (registers.arrangements)
    path("pupils/<int:pk>/pattern/", views_arrangements.session_pattern, name="session_pattern"),
    path("pupils/<int:pk>/part-time/", views_arrangements.part_time_new, name="part_time_new"),
    path("part-time/", views_arrangements.part_time_list, name="part_time_list"),
    path("part-time/export.csv", views_arrangements.part_time_export, name="part_time_export"),
    path("part-time/<int:pk>/", views_arrangements.part_time_update, name="part_time_update"),
    path("pupils/<int:pk>/off-site/", views_arrangements.offsite_new, name="offsite_new"),
    path("off-site/", views_arrangements.offsite_list, name="offsite_list"),
    path("off-site/<int:pk>/end/", views_arrangements.offsite_end, name="offsite_end"),
    path("off-site/confirm/", views_arrangements.offsite_confirm, name="offsite_confirm"),
    path("not-full-time/", views_arrangements.not_full_time, name="not_full_time"),
    path("not-full-time/export.<slug:fmt>", views_arrangements.not_full_time_export,
         name="not_full_time_export"),
    path("office/cover/", views_arrangements.cover_page, name="cover"),
    path("office/cover/<int:pk>/remove/", views_arrangements.cover_remove, name="cover_remove"),
    path("office/<isodate:day>/<session:session>/arrangements/",
         views_arrangements.arrangements_fill, name="arrangements_fill"),
    path("off-roll/twenty-days/", views_arrangements.removal_candidates, name="removal_candidates"),
    path("pupils/<int:pk>/enquiries/", views_arrangements.removal_enquiries,
         name="removal_enquiries"),
    path("transfers/ctf/import/", views_ctf.ctf_import, name="ctf_import"),
    path("transfers/ctf/export/", views_ctf.ctf_export, name="ctf_export"),
    path("transfers/census/", views_ctf.census_page, name="census"),
    path("transfers/dfe/", views_ctf.dfe_page, name="dfe_daily"),
    path("transfers/export-all/", views_ctf.export_all_download, name="export_all_download"),
    path("imports/<str:kind>/", views.import_upload, name="import_upload"),
]
