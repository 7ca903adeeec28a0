from django.shortcuts import render

from .models import School


def public_home(request):
    """The platform's front page: which schools exist here and where to sign in."""
    schools = School.objects.exclude(schema_name="public").select_related("trust") \
        .prefetch_related("domains").order_by("name")
    mine = set()
    if request.user.is_authenticated:
        mine = set(request.user.memberships.values_list("school_id", flat=True))
        mine |= set(School.objects.filter(trust__members__user=request.user)
                    .values_list("pk", flat=True))
    port = request.get_port()
    rows = [{"school": s, "domain": next((d.domain for d in s.domains.all() if d.is_primary), ""),
             "mine": s.pk in mine} for s in schools]
    return render(request, "public_home.html", {"rows": rows, "port": port})
