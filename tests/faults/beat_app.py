"""The project's Celery app with the stall sweeper every second, for the fault tests.

Production sweeps every two minutes with minutes of patience (settings.CELERY_BEAT_SCHEDULE);
here the patience is seconds (FAULT_STALLED_AFTER...) and only the test's school is swept.
"""

import os

from attendance_site.celery import app

app.conf.beat_schedule = {
    "sweep-test": {
        "task": "letters.tasks.sweep_stalled_all_schools",
        "schedule": 1.0,
        "kwargs": {"schemas": os.environ.get("FAULT_SCHEMAS", "").split(","),
                   "stalled_after": float(os.environ.get("FAULT_STALLED_AFTER", "3")),
                   "waiting_after": float(os.environ.get("FAULT_WAITING_AFTER", "20")),
                   "sending_after": float(os.environ.get("FAULT_SENDING_AFTER", "4"))},
    },
}

__all__ = ["app"]
