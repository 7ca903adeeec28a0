"""Two-factor sign-in with an authenticator app (TOTP, django-otp) and one-time backup codes.

Anyone may turn it on for themselves; a school can require it of every role that sees
safeguarding data (``School.require_two_factor``, ``roles.SAFEGUARDING_READERS``). Whether a
person has a device is kept on their user row (``User.two_factor``), so pages cost no extra
query. Until verified, such a person reaches only the sign-in, verify and setup pages.
"""

import io
from urllib.parse import urlencode

from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django_otp import devices_for_user, user_has_device, verify_token
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from .roles import SAFEGUARDING_READERS

BACKUP_CODES = 10
# Pages a signed-in person may use before the second step.
OPEN_PAGES = {"login", "logout", "two_factor_verify", "two_factor_setup", "password_reset",
              "password_reset_done", "password_reset_confirm", "password_reset_complete",
              "invitation_accept", "invitation_complete"}


def two_factor_required(request) -> bool:
    """This school requires it of (one of) the roles this person holds here."""
    tenant = getattr(connection, "tenant", None)
    return bool(getattr(tenant, "require_two_factor", False)
                and getattr(request, "roles", frozenset()) & SAFEGUARDING_READERS)


@receiver([post_save, post_delete], sender=TOTPDevice)
@receiver([post_save, post_delete], sender=StaticDevice)
def _sync_user_flag(sender, instance, **kwargs):
    """However devices change (set-up, reset, the admin), the person's flag follows, so a
    session begun before two-factor was turned on is asked for a code too."""
    from .models import User

    User.objects.filter(pk=instance.user_id).update(
        two_factor=user_has_device(User(pk=instance.user_id)))


class TwoFactorMiddleware:
    """Send people who still owe their second step to verify, or to set it up if required."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view, args, kwargs):
        user = request.user
        if not user.is_authenticated or user.is_verified():
            return None
        match = request.resolver_match
        if match is None or match.url_name in OPEN_PAGES:
            return None
        if user.two_factor:
            target = "two_factor_verify"
        elif two_factor_required(request):
            target = "two_factor_setup"
        else:
            return None
        return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")


def safe_next(request, default: str = "/") -> str:
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    ok = url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()},
                                         require_https=request.is_secure())
    return nxt if ok else default


# --- devices ---------------------------------------------------------------------------------

def totp_pending(*, user) -> TOTPDevice:
    """The authenticator being set up (unconfirmed until the first code is entered)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app",
                                               confirmed=False)


def qr_svg(device: TOTPDevice) -> str:
    """The device's otpauth:// URL as an inline SVG QR code (geometry only, no text)."""
    import qrcode
    import qrcode.image.svg

    out = io.BytesIO()
    qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage).save(out)
    svg = out.getvalue().decode()
    return mark_safe(svg[svg.index("<svg"):])  # noqa: S308 - our own generated SVG


@transaction.atomic
def totp_confirm(*, request, device: TOTPDevice, token: str) -> list[str] | None:
    """Confirm the authenticator with its first code; sign this session in with it. Returns
    fresh backup codes, or None if the code was wrong."""
    if device.user_id != request.user.pk or not device.verify_token(token.strip()):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=request.user).exclude(pk=device.pk).delete()
    otp_login(request, device)
    return backup_codes_new(user=request.user)


@transaction.atomic
def backup_codes_new(*, user) -> list[str]:
    """Replace the person's backup codes with new ones (each works once)."""
    device, _ = StaticDevice.objects.get_or_create(user=user, name="Backup codes",
                                                   defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    return codes


def otp_verify(*, request, token: str) -> bool:
    """Check a code from the app or a backup code against the person's own devices; on
    success the session counts as verified. Each device throttles repeated failures."""
    token = token.strip().replace(" ", "")
    # Six digits come from the app, anything else is a backup code: only that kind of device
    # is asked, so a mistyped code does not throttle the other one.
    kind = TOTPDevice if token.isdigit() and len(token) == 6 else StaticDevice
    for device in [d for d in devices_for_user(request.user) if isinstance(d, kind)]:
        verified = verify_token(request.user, device.persistent_id, token)
        if verified is not None:
            otp_login(request, verified)
            return True
    return False


def two_factor_reset(*, user) -> int:
    """Remove every device and backup code (an account manager's recovery for a lost phone).
    The person signs in with their password and, where required, sets up again."""
    removed = TOTPDevice.objects.filter(user=user).delete()[0]
    return removed + StaticDevice.objects.filter(user=user).delete()[0]


def two_factor_status(user) -> dict:
    return {"app": TOTPDevice.objects.filter(user=user, confirmed=True).exists(),
            "backup_left": StaticToken.objects.filter(device__user=user).count()}
