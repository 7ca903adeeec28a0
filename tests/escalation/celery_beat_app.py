"""The project's Celery app with a beat schedule that fires every second, for the worker test.

The production schedule (settings.CELERY_BEAT_SCHEDULE) runs at 01:30; this one sends the
same task with the test's night and only the test's school, so committed fixture schools
are left alone.
"""

import os

from attendance_site.celery import app

app.conf.beat_schedule = {
    "nightly-test": {
        "task": "escalation.tasks.nightly_all_schools",
        "schedule": 1.0,
        "kwargs": {"as_of": os.environ.get("NIGHTLY_AS_OF"),
                   "schemas": os.environ.get("NIGHTLY_SCHEMAS", "").split(",")},
    },
}

__all__ = ["app"]
