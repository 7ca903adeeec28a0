"""Fetching a register object a view may show: the only way registers' views load a pupil or a
class for a request. Who holds which role comes from ``tenants.access``/``tenants.roles``; what
each role may see of a pupil is ``registers.selectors.pupils_visible_to``."""

from datetime import date

from django.http import Http404
from django.shortcuts import get_object_or_404

from attendance_site.errors import FriendlyNotFound
from tenants.roles import WHOLE_SCHOOL_MARKERS

from . import cover, selectors
from .models import Pupil, RegistrationGroup


def pupil_for_request(request, pk: int) -> Pupil:
    """The office, attendance lead, head and DSL see every pupil of the school, a teacher their
    own classes', parents their own children; anyone else gets 404."""
    if not request.user.is_authenticated:
        raise Http404
    visible = selectors.pupils_visible_to(user=request.user, roles=request.roles)
    return get_object_or_404(visible.select_related("registration_group"), pk=pk)


def group_for_request(request, group_id: int, day: date | None = None) -> RegistrationGroup:
    """A class whose register this person may take: any class for whole-school markers, else
    a class they teach, or a class they cover on ``day`` (registers.cover); 404 otherwise."""
    group = get_object_or_404(RegistrationGroup, pk=group_id)
    if request.roles & WHOLE_SCHOOL_MARKERS or group.teachers.filter(pk=request.user.pk).exists():
        return group
    if day is not None and cover.covers_on(request.user, group.pk, day):
        return group
    raise FriendlyNotFound("This register is not one of your classes. Your own classes' "
                           "registers are under My register; the office can take any class's.")
