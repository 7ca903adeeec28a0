from django.contrib.auth import views as auth_views
from django.urls import path

from . import views_accounts as v

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # passwords
    path("password/", v.password_change, name="password_change"),
    path("password/done/", v.password_change_done, name="password_change_done"),
    path("reset/", v.password_reset, name="password_reset"),
    path("reset/sent/", v.password_reset_done, name="password_reset_done"),
    path("reset/<uidb64>/<token>/", v.password_reset_confirm, name="password_reset_confirm"),
    path("reset/done/", v.password_reset_complete, name="password_reset_complete"),
    path("invitation/<uidb64>/<token>/", v.invitation_accept, name="invitation_accept"),
    path("invitation/done/", v.invitation_complete, name="invitation_complete"),
    # two-factor sign-in
    path("security/", v.account_security, name="account_security"),
    path("two-factor/setup/", v.two_factor_setup, name="two_factor_setup"),
    path("two-factor/verify/", v.two_factor_verify, name="two_factor_verify"),
    path("two-factor/backup-codes/", v.two_factor_backup, name="two_factor_backup"),
]
