"""Text-message backends, chosen by ``settings.SMS_BACKEND`` like Django's email backends.

- ``absences.sms.ConsoleBackend`` (development default): writes each message to stdout.
- ``absences.sms.FileBackend``: appends each message as a JSON line to ``SMS_FILE_PATH``
  (the demo: what would have been sent, readable afterwards).
- ``absences.sms.NotifyBackend`` (production): GOV.UK Notify through
  ``notifications-python-client``. ``NOTIFY_API_KEY`` comes from the environment; the Notify
  text template ``NOTIFY_SMS_TEMPLATE_ID`` is a single ``((body))`` placeholder, so the
  school's own wording (absences.family_messages) is what the family reads.

``send`` returns the provider's id for the message; ``status`` maps the provider's
delivery status to "sent", "delivered" or "failed".
"""

from __future__ import annotations

import json
import sys
import threading
import uuid

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string


class SMSError(Exception):
    """The provider refused or could not be reached; the message is marked failed."""


class BaseBackend:
    def send(self, *, to: str, body: str, reference: str) -> str:
        raise NotImplementedError

    def status(self, provider_id: str) -> str:
        """Local backends deliver at once."""
        return "delivered"


class ConsoleBackend(BaseBackend):
    stream = None

    def send(self, *, to, body, reference):
        provider_id = f"console-{uuid.uuid4()}"
        out = self.stream or sys.stdout
        out.write(f"SMS to {to} (ref {reference}, id {provider_id}):\n{body}\n{'-' * 40}\n")
        out.flush()
        return provider_id


class FileBackend(BaseBackend):
    _lock = threading.Lock()

    def send(self, *, to, body, reference):
        provider_id = f"file-{uuid.uuid4()}"
        line = json.dumps({"id": provider_id, "to": to, "body": body, "reference": reference,
                           "at": timezone.now().isoformat()})
        with self._lock, open(settings.SMS_FILE_PATH, "a", encoding="utf-8") as f:
            f.write(line + "\n")
        return provider_id


# Notify's statuses (docs.notifications.service.gov.uk): still on its way, arrived, or not.
NOTIFY_STATUS = {"created": "sent", "sending": "sent", "pending": "sent", "sent": "delivered",
                 "delivered": "delivered", "permanent-failure": "failed",
                 "temporary-failure": "failed", "technical-failure": "failed"}


class NotifyBackend(BaseBackend):
    def __init__(self):
        from notifications_python_client.notifications import NotificationsAPIClient

        if not settings.NOTIFY_API_KEY or not settings.NOTIFY_SMS_TEMPLATE_ID:
            raise SMSError("NOTIFY_API_KEY and NOTIFY_SMS_TEMPLATE_ID must be set to send texts.")
        self.client = NotificationsAPIClient(settings.NOTIFY_API_KEY,
                                             base_url=settings.NOTIFY_BASE_URL, timeout=20)

    def send(self, *, to, body, reference):
        from notifications_python_client.errors import APIError

        try:
            response = self.client.send_sms_notification(
                phone_number=to, template_id=settings.NOTIFY_SMS_TEMPLATE_ID,
                personalisation={"body": body}, reference=reference)
        except APIError as exc:
            raise SMSError(f"Notify refused the message: {exc}") from exc
        except Exception as exc:  # connection errors, timeouts
            raise SMSError(f"Notify could not be reached: {exc}") from exc
        return str(response["id"])

    def status(self, provider_id):
        from notifications_python_client.errors import APIError

        try:
            data = self.client.get_notification_by_id(provider_id)
        except APIError as exc:
            raise SMSError(f"Notify: {exc}") from exc
        return NOTIFY_STATUS.get(data.get("status", ""), "sent")


def get_backend() -> BaseBackend:
    return import_string(settings.SMS_BACKEND)()
