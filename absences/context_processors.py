"""Counts waiting in the navigation (issue 14): reports for the office, leave requests for
the head. Only for the school's admin staff, only when the menu is drawn, one query for both."""

from django.db import connection
from django.utils.functional import cached_property

from tenants.roles import ADMIN_STAFF


class Waiting:
    @cached_property
    def _counts(self) -> tuple[int, int]:
        from .selectors import waiting_counts

        return waiting_counts()

    @property
    def reports(self) -> int:
        return self._counts[0]

    @property
    def leave(self) -> int:
        return self._counts[1]


def waiting(request):
    roles = getattr(request, "roles", frozenset())
    tenant = getattr(connection, "tenant", None)
    if not roles & ADMIN_STAFF or tenant is None or tenant.schema_name == "public":
        return {}
    return {"waiting": Waiting()}
