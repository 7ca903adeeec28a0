from django.urls import path

from . import views, views_reminders

app_name = "absences"

urlpatterns = [
    # Parents
    path("", views.portal, name="portal"),
    path("children/<int:pk>/", views.child_detail, name="child"),
    path("children/<int:pk>/report/", views.report_new, name="report_new"),
    path("children/<int:pk>/leave/", views.leave_new, name="leave_new"),
    path("language/", views.language_choose, name="language"),
    path("children/<int:pk>/messages/", views.message_preference, name="message_preference"),
    # Parents and staff
    path("leave/<int:pk>/", views.leave_detail, name="leave_detail"),
    path("leave/<int:pk>/letter/", views.leave_letter, name="leave_letter"),
    path("leave/<int:pk>/document/", views.leave_document, name="leave_document"),
    # The office
    path("inbox/", views.inbox, name="inbox"),
    path("reports/phoned/", views.report_phoned, name="report_phoned"),
    path("reports/<int:pk>/evidence/", views.report_evidence, name="report_evidence"),
    path("reports/<int:pk>/evidence/add/", views.report_evidence_add, name="report_evidence_add"),
    path("reports/<int:pk>/accept/", views.report_accept, name="report_accept"),
    path("reports/<int:pk>/query/", views.report_query, name="report_query"),
    path("leave/<int:pk>/mark-g/", views.leave_mark_g, name="leave_mark_g"),
    path("unexplained/", views.unexplained, name="unexplained"),
    path("unexplained/<int:pk>/log/", views.contact_log, name="contact_log"),
    path("unexplained/<int:pk>/resolve/", views.resolve, name="resolve"),
    path("messages/<str:day>/<str:session>/send/", views.first_day_send, name="first_day_send"),
    path("messages/<str:day>/<str:session>/refresh/", views.first_day_refresh,
         name="first_day_refresh"),
    path("messages/template/", views.message_settings, name="message_settings"),
    # issue 17: register reminders
    path("reminders/send/", views_reminders.register_remind, name="register_remind"),
    path("reminders/", views_reminders.reminder_settings, name="reminder_settings"),
    # The headteacher
    path("leave/", views.queue, name="queue"),
    path("leave/<int:pk>/decide/", views.decide, name="decide"),
    path("rules/", views.policy_edit, name="policy"),
    path("rules/assessments/add/", views.assessment_add, name="assessment_add"),
    path("rules/assessments/<int:pk>/delete/", views.assessment_delete, name="assessment_delete"),
    path("rules/assessments/carry/", views.assessment_carry, name="assessment_carry"),
]
