from django.urls import path

from . import views

urlpatterns = [
    path("", views.queue, name="esc_queue"),
    path("cases/mine/", views.my_cases, name="esc_my_cases"),
    path("cases/<int:pk>/", views.case_detail, name="esc_case"),
    path("cases/<int:pk>/care/", views.care_flags, name="esc_care_flags"),
    path("cases/<int:pk>/<str:action>/", views.case_action, name="esc_case_action"),
    path("cases/<int:pk>/forms/plan/", views.plan_form, name="esc_plan"),
    path("cases/<int:pk>/forms/contract/", views.contract_form, name="esc_contract"),
    path("cases/<int:pk>/contracts/<int:contract_id>/sign/", views.contract_sign, name="esc_contract_sign"),
    path("classes/", views.class_lists, name="esc_class_lists"),
    path("classes/<int:group_id>/", views.class_list_view, name="esc_class_list"),
    path("penalties/", views.penalties, name="esc_penalties"),
    path("penalties/<int:pupil_id>/issue/", views.penalty_issue, name="esc_penalty_issue"),
    path("penalties/notices/<int:pk>/withdraw/", views.penalty_withdraw, name="esc_penalty_withdraw"),
    path("penalties/notices/<int:pk>/payment/", views.penalty_payment, name="esc_penalty_payment"),
    path("policy/", views.policy, name="esc_policy"),
    path("policy/stages/new/", views.stage_edit, name="esc_stage_new"),
    path("policy/stages/<int:pk>/", views.stage_edit, name="esc_stage_edit"),
]
