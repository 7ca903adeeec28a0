"""Fetching a case a view may show: the only way escalation's views load a case.

Who may open the casework pages at all is the view's ``role_required`` (``tenants.roles``
``CASEWORKERS``); this is where any finer rule (a teacher's own cases) belongs, beside
``registers.access.pupil_for_request`` for pupils (docs/architecture.md).
"""

from django.shortcuts import get_object_or_404

from .models import Case


def case_for_request(request, pk: int) -> Case:
    """The case with its pupil, class, stage and policy version, or 404."""
    return get_object_or_404(
        Case.objects.select_related(
            "pupil", "pupil__registration_group", "stage", "stage__next_stage", "policy_version"
        ),
        pk=pk,
    )
