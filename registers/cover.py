"""Cover: the office assigns a member of staff to take a class's registers for one day
(issue 13 item 4). The cover teacher sees that class under "My register" on that day only,
and can save its registers that day under the class teacher's rules (registers.policy)."""

from datetime import date

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from tenants.roles import Role

from .models import RegisterCover, RegistrationGroup, SchoolDay


class CoverError(Exception):
    pass


def cover_staff(school):
    """Who may be assigned: people with the teacher role at this school (the office, the
    attendance lead and the head take every register already)."""
    return (get_user_model().objects.filter(memberships__school=school,
                                            memberships__role=Role.TEACHER)
            .distinct().order_by("last_name", "first_name", "username"))


def covers(user, day: date):
    """The classes ``user`` covers on ``day``."""
    return RegistrationGroup.objects.filter(covers__user=user, covers__day=day)


def covers_on(user, group_id: int, day: date) -> bool:
    return RegisterCover.objects.filter(user=user, group_id=group_id, day=day).exists()


def covers_from(day: date):
    """Cover assigned from ``day`` onwards, for the office's page."""
    return RegisterCover.objects.filter(day__gte=day).select_related("group")


@transaction.atomic
def cover_assign(*, school, group: RegistrationGroup, day: date, user, by) -> RegisterCover:
    if not SchoolDay.objects.filter(date=day, closed=False).exists():
        raise CoverError(f"{day:%A %-d %B %Y} is not a school day.")
    if not cover_staff(school).filter(pk=user.pk).exists():
        raise CoverError("Choose a member of staff with the teacher role at this school.")
    if group.teachers.filter(pk=user.pk).exists():
        raise CoverError(f"{user.get_full_name() or user.username} already teaches "
                         f"{group.name}.")
    try:
        with transaction.atomic():
            return RegisterCover.objects.create(
                group=group, day=day, user=user,
                assigned_by=(by.get_full_name() or by.username) if by else "system")
    except IntegrityError:
        raise CoverError(f"{user.get_full_name() or user.username} already covers "
                         f"{group.name} on {day:%-d %B}.") from None


def cover_remove(*, cover: RegisterCover) -> None:
    cover.delete()
