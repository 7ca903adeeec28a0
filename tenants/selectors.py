"""Read-only queries about schools on the platform."""

import re

from .models import School

FIND_MIN_CHARS = 3
FIND_LIMIT = 5
URN = re.compile(r"\d{6,7}")


def schools_find(query: str) -> tuple[list[School], bool] | None:
    """Schools matching a typed name (3+ characters) or an exact URN, at most FIND_LIMIT,
    and whether more matched. None when the query is too short to search: the platform
    never lists its schools, so a finder must not work as a list either."""
    query = " ".join(query.split())[:100]
    schools = School.objects.exclude(schema_name="public").prefetch_related("domains")
    if URN.fullmatch(query):
        schools = schools.filter(urn=query)
    elif len(query) >= FIND_MIN_CHARS:
        schools = schools.filter(name__icontains=query)
    else:
        return None
    found = list(schools.order_by("name")[:FIND_LIMIT + 1])
    return found[:FIND_LIMIT], len(found) > FIND_LIMIT


def schools_of(user) -> list[School]:
    """The schools a signed-in person belongs to, directly or through their trust."""
    if not user.is_authenticated:
        return []
    return list(School.objects.exclude(schema_name="public")
                .filter(pk__in=set(user.memberships.values_list("school_id", flat=True))
                        | set(School.objects.filter(trust__members__user=user)
                              .values_list("pk", flat=True)))
                .prefetch_related("domains").order_by("name"))


def school_address(school: School, request) -> str:
    """The school's own host, with the scheme and port this request came in on (the port the
    browser used, as in its Host header: :8000 for make run, none behind a proxy)."""
    domain = next((d.domain for d in school.domains.all() if d.is_primary), "")
    _, colon, port = request.get_host().rpartition(":")
    return f"{request.scheme}://{domain}{':' + port if colon and port.isdigit() else ''}/"
