"""Fetching a case a view may show: the only way escalation's views load a case.

Who may open the casework pages at all is the view's ``role_required`` (``tenants.roles``
``CASEWORKERS``, plus class teachers for their own list); the finer rule lives here, beside
``registers.access.pupil_for_request`` for pupils (docs/architecture.md).
"""

from django.shortcuts import get_object_or_404

from tenants.roles import CASEWORKERS

from . import selectors
from .models import Case


def manages_cases(request) -> bool:
    """The attendance lead and the head manage every case; others only see their own list."""
    return bool(request.roles & CASEWORKERS)


def case_for_request(request, pk: int) -> Case:
    """The case with its pupil, class, stage and policy version, or 404. The attendance lead and
    head open any case; a class teacher only the live cases of their own classes whose stage they
    own (anything else is "not there": 404)."""
    qs = Case.objects.all() if manages_cases(request) else selectors.teacher_cases(user=request.user)
    return get_object_or_404(qs.select_related(
        "pupil", "pupil__registration_group", "stage", "stage__next_stage", "policy_version"), pk=pk)
