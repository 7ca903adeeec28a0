"""Issue 11.4: bad input never gives a 500.

Every URL of the role table (tests/security/test_every_url.py), visited by a role that may
use it, with every filter a view reads set to hostile or simply unexpected values: NUL
bytes, over-long text, year groups as people type them, impossible dates and numbers. Every
form is posted with the same values. The answer may be a page with a message, a 302 or a
400/404, never an exception.
"""

from urllib.parse import urlencode

import pytest
from django.test import Client

from tests.security.test_every_url import (  # noqa: F401 - fixtures used by name
    TENANT_URLS,
    _media,
    fill,
    post_data,
    world,
)

PREFERRED = ("head", "attendance_officer", "office", "teacher", "governor", "trust_director",
             "la_officer", "parent")

# Every query parameter a view reads (grep request.GET), and the dashboards' dimensions.
PARAMS = ("q", "year", "class", "group", "stage", "owner", "track", "status", "from", "to", "day",
          "as_of", "format", "state", "session", "cohort", "pupil", "template", "leavers", "dow",
          "code", "measure", "school", "ytd", "year_group", "gender", "pp", "fsm", "eal", "sen",
          "kind", "page")

BAD = {
    "nul": "a\x00b",
    "long": "x" * 5000,
    "reception": "Reception",
    "R": "R",
    "Y4": "Y4",
    "negative": "-1",
    "huge": "9" * 30,
    "bad date": "2025-02-30",
    "float": "1.5",
    "quote": "'\"<script>",
    "unicode": "Zoë 😀",
    "blank": " ",
}


def user_for(people, roles):
    who = next(r for r in PREFERRED if r in roles)
    client = Client(HTTP_HOST="a.localhost", raise_request_exception=True)
    client.force_login(people[who])
    return client


def crash(client, method, url, data=None) -> str | None:
    try:
        response = getattr(client, method)(url, data or {})
    except Exception as exc:  # noqa: BLE001 - that is exactly what this test looks for
        return f"{method.upper()} {url[:80]!r}: {type(exc).__name__}: {str(exc)[:120]}"
    if response.status_code >= 500:
        return f"{method.upper()} {url[:80]!r}: {response.status_code}"
    return None


GET_URLS = sorted(k for k, u in TENANT_URLS.items() if u.method in ("GET", "FORM") and u.roles)
POST_URLS = sorted(k for k, u in TENANT_URLS.items()
                   if u.method in ("POST", "FORM") and u.posters)


@pytest.mark.parametrize("name", GET_URLS)
def test_filters_with_bad_values_never_500(world, people, name):  # noqa: F811
    u = TENANT_URLS[name]
    client = user_for(people, u.roles)
    base = fill(u.path, world)
    joiner = "&" if "?" in base else "?"
    problems = []
    for label, value in BAD.items():
        # Every parameter at once, then (if that crashed) one at a time to name the culprit.
        if crash(client, "get", base + joiner + urlencode(dict.fromkeys(PARAMS, value))) is None:
            continue
        for param in PARAMS:
            if (why := crash(client, "get", base + joiner + urlencode({param: value}))) is not None:
                problems.append(f"{label} in {param}: {why}")
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("name", POST_URLS)
def test_forms_with_bad_values_never_500(world, people, name):  # noqa: F811
    u = TENANT_URLS[name]
    client = user_for(people, u.posters)
    url = fill(u.path, world)
    good = post_data(u, world)
    problems = []
    for label, value in BAD.items():
        for key in good or {"x": ""}:
            data = {**good, key: value}
            if (why := crash(client, "post", url, data)) is not None:
                problems.append(f"{label} in {key}: {why}")
    assert problems == [], "\n".join(problems)
