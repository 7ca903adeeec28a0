from django.shortcuts import render

from .selectors import FIND_MIN_CHARS, school_address, schools_find, schools_of


def public_home(request):
    """The platform's front page: sign in, and find your school by typing its name or URN.
    It lists no schools: which schools use the platform is not for anyone to browse."""
    query = request.GET.get("q", "").strip()
    found = schools_find(query) if query else None
    results, more = found if found else ([], False)
    return render(request, "public_home.html", {
        "query": query, "searched": found is not None, "too_short": bool(query) and found is None,
        "results": [(s, school_address(s, request)) for s in results], "more": more,
        "mine": [(s, school_address(s, request)) for s in schools_of(request.user)],
        "min_chars": FIND_MIN_CHARS,
    })
