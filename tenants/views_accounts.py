"""Password change and reset, invitations, two-factor sign-in and the school's people page."""

from base64 import b32encode

from axes.helpers import get_client_ip_address
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.views.decorators.http import require_POST

from . import accounts, services, twofactor
from .access import role_required
from .forms_accounts import EmailForm, InviteForm, SchoolTwoFactorForm, TokenForm
from .lockout import lockout_clear
from .models import Membership, User
from .roles import ACCOUNT_MANAGERS, SAFEGUARDING_READERS, Role
from .tokens import invitation_token_generator

# --- password change and reset -------------------------------------------------------------------

password_change = auth_views.PasswordChangeView.as_view(
    template_name="registration/password_change.html")
password_change_done = auth_views.PasswordChangeDoneView.as_view(
    template_name="registration/password_change_done.html")


def password_reset(request):
    """Ask for a reset link. The answer is the same whether or not the address has an account."""
    form = EmailForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            queued = accounts.password_reset_request(
                email=form.cleaned_data["email"], base=accounts.link_base(request),
                client_ip=get_client_ip_address(request) or "")
        except accounts.ResetUnavailable:
            return render(request, "registration/password_reset_form.html",
                          {"form": form, "unavailable": True}, status=503)
        if not queued:
            return render(request, "registration/password_reset_form.html",
                          {"form": form, "too_many": True}, status=429)
        return redirect("password_reset_done")
    return render(request, "registration/password_reset_form.html", {"form": form})


password_reset_done = auth_views.PasswordResetDoneView.as_view(
    template_name="registration/password_reset_done.html")


class ResetConfirm(auth_views.PasswordResetConfirmView):
    """Choosing a new password proves who you are: it also lifts your sign-in lockout."""

    template_name = "registration/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        lockout_clear(username=form.user.get_username())
        return response


password_reset_confirm = ResetConfirm.as_view()
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="registration/password_reset_complete.html")


class InvitationAccept(ResetConfirm):
    template_name = "registration/invitation_accept.html"
    token_generator = invitation_token_generator
    reset_url_token = "choose-password"
    success_url = reverse_lazy("invitation_complete")


invitation_accept = InvitationAccept.as_view()
invitation_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="registration/invitation_complete.html")


# --- two-factor --------------------------------------------------------------------------------

@login_required
def account_security(request):
    return render(request, "registration/security.html", {
        "status": twofactor.two_factor_status(request.user),
        "required": twofactor.two_factor_required(request)})


@login_required
def two_factor_setup(request):
    """Scan the QR code, type the first code: the app is confirmed and backup codes shown once."""
    if twofactor.two_factor_status(request.user)["app"]:
        messages.info(request, "Two-factor sign-in is already set up.")
        return redirect("account_security")
    if not request.user.is_verified() and request.user.two_factor:
        return redirect("two_factor_verify")  # a password alone must not add a new device
    device = twofactor.totp_pending(user=request.user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = twofactor.totp_confirm(request=request, device=device,
                                       token=form.cleaned_data["token"])
        if codes is not None:
            return render(request, "registration/backup_codes.html",
                          {"codes": codes, "next": twofactor.safe_next(request)})
        form.add_error("token", "That code is not right. Check the time on your phone and try "
                                "the newest code.")
    return render(request, "registration/two_factor_setup.html", {
        "form": form, "qr": twofactor.qr_svg(device), "secret": b32encode(device.bin_key).decode(),
        "required": twofactor.two_factor_required(request), "next": twofactor.safe_next(request)})


@login_required
def two_factor_verify(request):
    """The second step after the password: a code from the app or a backup code."""
    if request.user.is_verified():
        return redirect(twofactor.safe_next(request))
    if not request.user.two_factor:  # none set up, or reset by an account manager
        return redirect(twofactor.safe_next(request))
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if twofactor.otp_verify(request=request, token=form.cleaned_data["token"]):
            return redirect(twofactor.safe_next(request))
        form.add_error("token", "That code is not right (or too many tries: wait a moment).")
    return render(request, "registration/two_factor_verify.html",
                  {"form": form, "next": twofactor.safe_next(request)})


@login_required
@require_POST
def two_factor_backup(request):
    """New backup codes (the old ones stop working), for a verified session only."""
    if not twofactor.two_factor_status(request.user)["app"]:
        return redirect("two_factor_setup")
    if not request.user.is_verified():
        return redirect("two_factor_verify")
    return render(request, "registration/backup_codes.html",
                  {"codes": twofactor.backup_codes_new(user=request.user), "next": "/"})


# --- the school's people (account managers) --------------------------------------------------

@role_required(ACCOUNT_MANAGERS)
def people(request):
    school = connection.tenant
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = accounts.staff_invite(school=school,
                                         base=accounts.link_base(request),
                                         invited_by=request.user, **form.cleaned_data)
        except accounts.InvitationError as e:
            form.add_error(None, str(e))
        else:
            messages.success(request, f"Invitation sent to {user.email}.")
            return redirect("people")
    members = (Membership.objects.filter(school_id=school.pk).exclude(role=Role.PARENT)
               .select_related("user")
               .order_by("user__last_name", "user__first_name", "role"))
    with_app = set(User.objects.filter(totpdevice__confirmed=True, memberships__school_id=school.pk)
                   .values_list("pk", flat=True))
    return render(request, "tenants/people.html", {
        "form": form, "members": members, "with_app": with_app,
        "school_form": SchoolTwoFactorForm(initial={"require_two_factor": school.require_two_factor}),
        "safeguarding_roles": sorted(Role(r).label for r in SAFEGUARDING_READERS)})


@role_required(ACCOUNT_MANAGERS)
@require_POST
def people_two_factor(request):
    form = SchoolTwoFactorForm(request.POST)
    form.is_valid()
    required = form.cleaned_data.get("require_two_factor", False)
    services.school_two_factor_set(school=connection.tenant, required=required)
    messages.success(request, "Two-factor sign-in is now " + ("required" if required else "optional")
                     + " for roles that see safeguarding data.")
    return redirect("people")


@role_required(ACCOUNT_MANAGERS)
@require_POST
def people_two_factor_reset(request):
    """Recovery for a member who lost their phone and backup codes."""
    user_id = request.POST.get("user", "")
    user = User.objects.filter(pk=int(user_id) if user_id.isdigit() else 0,
                               memberships__school_id=connection.tenant.pk).distinct().first()
    if user is None:
        raise Http404
    twofactor.two_factor_reset(user=user)
    messages.success(request, f"Two-factor sign-in removed for {user}. They can set it up again "
                              "after signing in with their password.")
    return redirect(reverse("people"))
