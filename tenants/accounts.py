"""Accounts a school can run: password reset by email and staff invitations.

Links in emails always point at the school's own host (one of its Domain rows, never a Host
header we do not know). A reset request does the same work in the web request whatever the
address, and a worker sends the mail, so neither the page nor its timing says whether the
address has an account.
"""

import logging

from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.core.cache import caches
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from .models import Domain, Membership, School, User
from .roles import Role
from .services import person_grant
from .tokens import invitation_token_generator

log = logging.getLogger(__name__)

# Roles a school's account manager may give by invitation: school staff, governors, LA
# officers. Parents come with their children's contacts, trust directors from the trust.
NOT_INVITABLE = {Role.PARENT, Role.TRUST_DIRECTOR}


def invitable_roles() -> list[tuple[str, str]]:
    return [(r.value, r.label) for r in Role if r not in NOT_INVITABLE]


def link_base(request) -> str:
    """``http(s)://host[:port]`` of this school for links in emails: the host asked for if it is
    one of the school's domains, else the school's primary domain (an unknown Host header is
    served as the public site and must not end up in a link)."""
    schema = getattr(getattr(connection, "tenant", None), "schema_name", "public")
    domains = Domain.objects.filter(tenant__schema_name=schema)
    hostname, _, port = request.get_host().partition(":")
    if not domains.filter(domain=hostname).exists():
        primary = domains.filter(is_primary=True).first()
        hostname = primary.domain if primary else settings.TENANT_BASE_DOMAIN
    scheme = "https" if request.is_secure() else "http"
    return f"{scheme}://{hostname}{':' + port if port else ''}"


# --- password reset ----------------------------------------------------------------------------

def _over_limit(key: str, limit: int) -> bool:
    """Count one more request under ``key`` this hour; True once it passes ``limit``."""
    cache = caches["ratelimit"]
    cache.add(key, 0, timeout=60 * 60)
    try:
        return cache.incr(key) > limit
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=60 * 60)
        return False


class ResetUnavailable(RuntimeError):
    """Redis (rate counters, task queue) cannot be reached: nothing was sent."""


def password_reset_request(*, email: str, base: str, client_ip: str) -> bool:
    """Queue a reset email for ``email``. False when this client asked too often (the caller
    says so); too many requests for one address are dropped silently."""
    from kombu.exceptions import OperationalError
    from redis.exceptions import RedisError

    from .tasks import password_reset_send

    rate = settings.PASSWORD_RESET_RATE
    try:
        if _over_limit(f"reset:ip:{client_ip}", rate["ip"]):
            return False
        if not _over_limit(f"reset:email:{email.strip().lower()}", rate["email"]):
            password_reset_send.delay(email, base)  # nothing to commit first: no writes here
    except (RedisError, OperationalError, OSError) as e:
        log.exception("password reset could not be queued")
        raise ResetUnavailable from e
    return True


class _ResetForm(PasswordResetForm):
    def get_users(self, email):
        """Active people with this address, including invited staff who have no password yet
        (a reset doubles as a fresh invitation)."""
        return User.objects.filter(email__iexact=email.strip(), is_active=True).exclude(email="")


def password_reset_send(*, email: str, base: str) -> None:
    """Email each active person with this address a link to choose a new password."""
    form = _ResetForm({"email": email})
    if not form.is_valid():
        return
    scheme, _, host = base.partition("://")
    form.save(domain_override=host, use_https=scheme == "https",
              subject_template_name="registration/password_reset_subject.txt",
              email_template_name="registration/password_reset_email.txt")


# --- staff invitations -------------------------------------------------------------------------

class InvitationError(ValueError):
    pass


@transaction.atomic
def staff_invite(*, school: School, email: str, role: str, first_name: str, last_name: str,
                 base: str, invited_by: User) -> User:
    """Give a person a role in the school, creating their account (with no password) if needed,
    and email them: a link to choose their password, or a note that they have been added."""
    if role not in dict(invitable_roles()):
        raise InvitationError("That role cannot be given by invitation.")
    email = email.strip()
    users = list(User.objects.filter(email__iexact=email))
    if len(users) > 1:
        raise InvitationError("More than one account has this email address: ask the platform "
                              "administrator to add the role.")
    if users:
        user = users[0]
    else:
        username = email.lower()
        if User.objects.filter(username__iexact=username).exists():
            raise InvitationError("An account with that username already exists.")
        user = person_grant(username=username, role=role, first_name=first_name,
                            last_name=last_name, email=email)
    if Membership.objects.filter(user=user, school=school, role=role).exists():
        raise InvitationError(f"{user} already has that role here.")
    Membership.objects.create(user=user, school=school, role=role)
    log.info("%s invited %s to %s as %s", invited_by, user, school.schema_name, role)
    transaction.on_commit(lambda: invitation_send(user=user, school=school, role=role, base=base))
    return user


def invitation_send(*, user: User, school: School, role: str, base: str) -> int:
    needs_password = not user.has_usable_password()
    link = base + (reverse("invitation_accept", kwargs={
        "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": invitation_token_generator.make_token(user)}) if needs_password
        else reverse("login"))
    context = {"user": user, "school": school, "role": Role(role).label, "link": link,
               "needs_password": needs_password,
               "days": settings.INVITATION_TIMEOUT // (24 * 60 * 60)}
    subject = f"You have been invited to {school.name}"
    text = render_to_string("registration/invitation_email.txt", context)
    try:
        return EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL,
                                      [user.email]).send()
    except OSError:
        log.exception("could not send the invitation to %s", user.email)
        return 0
