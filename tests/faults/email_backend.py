"""An email "provider" for the fault tests: each message it accepts is appended to a log file
(FAULT_MAIL_LOG), so the test can count what really went out across worker processes.

With FAULT_HANG_TO set, the first message to that address is accepted (logged) and then the
worker hangs, as if it died after the provider took the email but before the app recorded
the provider's id: the test kills it there. FAULT_HANG_MARK (a file) makes it hang only once.
"""

import json
import os
import time
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend


class EmailBackend(BaseEmailBackend):
    def send_messages(self, messages):
        log = Path(os.environ["FAULT_MAIL_LOG"])
        hang_to, mark = os.environ.get("FAULT_HANG_TO", ""), os.environ.get("FAULT_HANG_MARK", "")
        for msg in messages:
            with open(log, "a") as f:
                f.write(json.dumps({"to": msg.to, "id": msg.extra_headers.get("Message-ID", ""),
                                    "pid": os.getpid()}) + "\n")
                f.flush()
                os.fsync(f.fileno())
            if hang_to and hang_to in msg.to and mark and not os.path.exists(mark):
                Path(mark).write_text(str(os.getpid()))
                time.sleep(600)
        return len(messages)
