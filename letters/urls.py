from django.urls import path

from . import views, views_case

app_name = "letters"

urlpatterns = [
    path("", views.home, name="home"),
    path("templates/new/", views.template_edit, name="template_new"),
    path("templates/<int:pk>/", views.template_edit, name="template_edit"),
    path("templates/preview/", views.template_preview, name="template_preview"),
    path("batches/new/", views.batch_new, name="batch_new"),
    path("batches/queued/", views.batch_queued, name="batch_queued"),
    path("batches/<int:pk>/", views.batch_detail, name="batch_detail"),
    path("batches/<int:pk>/progress/", views.batch_progress, name="batch_progress"),
    path("batches/<int:pk>/print.pdf", views.batch_combined, name="batch_combined"),
    path("batches/<int:pk>/all.pdf", views.batch_all, name="batch_all"),
    path("batches/<int:pk>/retry/", views.batch_retry, name="batch_retry"),
    path("batches/<int:pk>/printed/", views.batch_printed, name="batch_printed"),
    path("letter/<int:pk>.pdf", views.letter_pdf, name="letter_pdf"),
    path("letter/<int:pk>/check/", views.letter_check, name="letter_check"),
    path("letter/<int:pk>/posted/", views.letter_posted, name="letter_posted"),
    path("letter/<int:pk>/release/", views.letter_release, name="letter_release"),
    path("letter/<int:pk>/cancel/", views.letter_cancel, name="letter_cancel"),
    path("review/", views.review, name="review"),
    path("plans/<int:pk>.pdf", views.plan_pdf, name="plan_pdf"),
    path("contracts/<int:pk>.pdf", views.contract_pdf, name="contract_pdf"),
    path("pupil/<int:pk>/", views.pupil_letters, name="pupil_letters"),
    path("pupil/<int:pk>/document/", views.pupil_document, name="pupil_document"),
    path("pupil/<int:pk>/evidence.pdf", views.evidence_pdf, name="evidence_pdf"),
    # issue 17: letters and messages from a case
    path("case/<int:pk>/letter/", views_case.case_letter, name="case_letter"),
    path("case/<int:pk>/message/", views_case.case_message, name="case_message"),
    path("letter/<int:pk>/email/", views_case.case_letter_email, name="case_letter_email"),
    path("letter/<int:pk>/delivered/", views_case.case_letter_delivered, name="case_letter_delivered"),
    path("settings/", views.settings_edit, name="settings"),
    path("returns/", views.return_list, name="return_list"),
    path("returns/<int:pk>/", views.return_detail, name="return_detail"),
    path("returns/<int:pk>/export.<str:fmt>", views.return_export, name="return_export"),
    path("census/", views.census, name="census"),
]
