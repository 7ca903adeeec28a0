"""Fetching a register object a view may show: the only way registers' views load a pupil or a
class for a request. Who holds which role comes from ``tenants.access``/``tenants.roles``; what
each role may see of a pupil is ``registers.selectors.pupils_visible_to``."""

from django.http import Http404
from django.shortcuts import get_object_or_404

from tenants.roles import WHOLE_SCHOOL_MARKERS

from . import selectors
from .models import Pupil, RegistrationGroup


def pupil_for_request(request, pk: int) -> Pupil:
    """The office, attendance lead, head and DSL see every pupil of the school, a teacher their
    own classes', parents their own children; anyone else gets 404."""
    if not request.user.is_authenticated:
        raise Http404
    visible = selectors.pupils_visible_to(user=request.user, roles=request.roles)
    return get_object_or_404(visible.select_related("registration_group"), pk=pk)


def group_for_request(request, group_id: int) -> RegistrationGroup:
    """A class whose register this person may take: any class for whole-school markers, else
    only a class they teach (404 otherwise)."""
    group = get_object_or_404(RegistrationGroup, pk=group_id)
    if not request.roles & WHOLE_SCHOOL_MARKERS and not group.teachers.filter(
            pk=request.user.pk).exists():
        raise Http404
    return group
