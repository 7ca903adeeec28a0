"""Sign-in lockout: per person, and (with a higher limit) per client address.

A school's staff share one public address, so locking the username+address pair after a few
failures locked the real user whenever someone guessed at their account from school. Here the
username locks after ``AXES_FAILURE_LIMIT`` failures from anywhere, and one address locks after
``AXES_IP_FAILURE_LIMIT`` failures across all usernames (password spraying). Failures while
locked out are not counted (``AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False``), so the
cool-off runs from the failure that locked. A password reset clears the person's lockout and,
for a day, exempts them from their address's count: someone spraying passwords from the school's
network cannot keep a member of staff out who has proved by email who they are.
"""

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.core.cache import caches
from django.db.models import Sum

RESET_GRACE = 24 * 60 * 60


def _reset_key(username: str) -> str:
    return f"lockout:reset:{username}"


def _failures(attempts) -> int:
    return attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0


class LockoutHandler(AxesDatabaseHandler):
    def get_failures(self, request, credentials=None) -> int:
        """Failures against the per-person limit: the person's own count, or the address's
        count scaled so that reaching ``AXES_IP_FAILURE_LIMIT`` reaches the person limit."""
        recent = AccessAttempt.objects.filter(attempt_time__gte=get_cool_off_threshold(request))
        username = get_client_username(request, credentials)
        by_user = _failures(recent.filter(username=username)) if username else 0
        if username and caches["ratelimit"].get(_reset_key(username)):
            return by_user
        by_address = _failures(recent.filter(ip_address=request.axes_ip_address))
        scaled = by_address * settings.AXES_FAILURE_LIMIT // settings.AXES_IP_FAILURE_LIMIT
        return max(by_user, scaled)

    def reset_user_attempts(self, request, credentials=None) -> int:
        """A successful sign-in clears that person's failures only: signing in to one's own
        account must not wipe the address's count (a sprayer could reset it that way)."""
        username = get_client_username(request, credentials)
        if not username:
            return 0
        return AccessAttempt.objects.filter(username=username).delete()[0]


def lockout_clear(*, username: str) -> int:
    """Forget a person's failed sign-ins (after they proved who they are by email)."""
    from axes.utils import reset

    caches["ratelimit"].set(_reset_key(username), 1, timeout=RESET_GRACE)
    return reset(username=username)
