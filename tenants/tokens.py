"""One-time links: password reset (Django's generator, PASSWORD_RESET_TIMEOUT, short) and staff
invitations (their own salt, so a reset token is no invitation and back, INVITATION_TIMEOUT).

Both hash the password and last sign-in, so a link stops working once it has been used."""

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator, default_token_generator
from django.utils.crypto import constant_time_compare
from django.utils.http import base36_to_int

reset_token_generator = default_token_generator


class InvitationTokenGenerator(PasswordResetTokenGenerator):
    key_salt = "tenants.tokens.InvitationTokenGenerator"

    def check_token(self, user, token) -> bool:
        if not (user and token):
            return False
        try:
            ts = base36_to_int(token.split("-")[0])
        except ValueError:
            return False
        if self._num_seconds(self._now()) - ts > settings.INVITATION_TIMEOUT:
            return False
        return any(constant_time_compare(self._make_token_with_timestamp(user, ts, secret), token)
                   for secret in [self.secret, *self.secret_fallbacks])


invitation_token_generator = InvitationTokenGenerator()
