"""Production-safe defaults (issue 10 finding 6, requirement 7).

The settings are read in subprocesses with the environment production has (DEBUG=0, no
LOCAL_HTTP), because the test suite itself runs with attendance_site.settings_test (plain
http, a test key). In-process tests cover what does not depend on that environment: the
Content-Security-Policy, Cache-Control: no-store, the admin, and the public home page.
"""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from tests.conftest import client_for, subprocess_database_url
from tests.security.test_every_url import PDF, _media, world  # noqa: F401 - fixtures

ROOT = Path(__file__).resolve().parents[2]


def production_env(**extra) -> dict:
    """This process's environment as production would have it: no test settings, no key."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("SECRET_KEY", "LOCAL_HTTP", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE",
                        "SECURE_HSTS_SECONDS", "SECURE_HSTS_PRELOAD", "ALLOWED_HOSTS")}
    env.update({"DJANGO_SETTINGS_MODULE": "attendance_site.settings", "DEBUG": "0", **extra})
    return env


def run(args, env, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, **kw)


# --- settings ----------------------------------------------------------------------------------

@pytest.mark.parametrize("key", [None, "", "too-short-a-key"])
def test_settings_refuse_to_start_with_debug_off_and_no_real_key(key):
    env = production_env() if key is None else production_env(SECRET_KEY=key)
    r = run(["-c", "import django; django.setup()"], env)
    assert r.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY must be set" in r.stderr


def test_settings_start_with_a_key_or_in_debug():
    r = run(["-c", "from django.conf import settings; print(settings.DEBUG)"],
            production_env(SECRET_KEY=secrets.token_urlsafe(50)))
    assert (r.returncode, r.stdout.strip()) == (0, "False"), r.stderr
    r = run(["-c", "from django.conf import settings; print(settings.DEBUG)"],
            production_env(DEBUG="1"))  # make run: DEBUG=1 and a local key under var/
    assert (r.returncode, r.stdout.strip()) == (0, "True"), r.stderr


def test_check_deploy_is_clean_with_production_environment():
    env = production_env(SECRET_KEY=secrets.token_urlsafe(50),
                         ALLOWED_HOSTS=".attendance.example.org")
    r = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "System check identified no issues (0 silenced)." in r.stdout


PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
out = {name: getattr(settings, name) for name in (
    "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SESSION_COOKIE_HTTPONLY")}
plain = Client(HTTP_HOST="a.localhost").get("/accounts/login/")
out["http"] = [plain.status_code, plain.get("Location")]
r = Client(HTTP_HOST="a.localhost").get("/accounts/login/", secure=True)
out["https"] = [r.status_code, dict(r.headers)]
out["cookies"] = {k: [v["secure"], v["samesite"]] for k, v in r.cookies.items()}
proxied = Client(HTTP_HOST="a.localhost", HTTP_X_FORWARDED_PROTO="https").get("/accounts/login/")
out["proxied"] = proxied.status_code
print(json.dumps(out))
"""


def test_with_debug_off_https_is_enforced_end_to_end(db):
    """A real request through the production settings (against the committed test schools):
    http is redirected to https, HSTS is sent, cookies are Secure, CSP and no-store are set."""
    env = production_env(SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS=".localhost",
                         DATABASE_URL=subprocess_database_url())
    r = run(["-c", PROBE], env)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["SESSION_COOKIE_SECURE"] and out["CSRF_COOKIE_SECURE"] and out["SECURE_SSL_REDIRECT"]
    assert out["SECURE_HSTS_SECONDS"] >= 31536000 and out["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    assert out["http"] == [301, "https://a.localhost/accounts/login/"]
    status, headers = out["https"]
    assert status == 200
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000; includeSubDomains")
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["Cache-Control"] == "no-store, private"
    assert out["cookies"]["csrftoken"][0] is True
    assert out["proxied"] == 200  # behind the TLS proxy (X-Forwarded-Proto: https)


def test_local_http_is_an_explicit_choice():
    """The test suite (and make run) serve plain http only because they say so."""
    from django.conf import settings

    assert os.environ.get("LOCAL_HTTP") == "1"
    assert not settings.SESSION_COOKIE_SECURE and not settings.SECURE_SSL_REDIRECT


# --- Content-Security-Policy -------------------------------------------------------------------

def test_csp_allows_only_the_apps_own_scripts_and_styles(people):
    r = client_for(people["head"]).get("/dashboard/")
    assert r.status_code == 200
    directives = dict(d.strip().split(" ", 1) for d in r["Content-Security-Policy"].split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["default-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in r["Content-Security-Policy"]


def test_templates_have_no_inline_scripts_styles_or_handlers():
    """What the browser would refuse under the policy, caught before a browser runs. PDF-only
    templates (WeasyPrint, never served as HTML) may keep their <style>."""
    import re

    pdf_only = {"dashboards/qa_print.html"}
    bad = re.compile(r"<script>|<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=")
    problems = []
    for path in (ROOT / "templates").rglob("*.html"):
        rel = path.relative_to(ROOT / "templates").as_posix()
        if rel.startswith("letters/pdf/") or rel in pdf_only:
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if bad.search(line):
                problems.append(f"{rel}:{n}")
    assert problems == []


# --- Cache-Control: no-store -------------------------------------------------------------------

NO_STORE = [
    ("pupil page", "head", "/pupils/{child}/"),
    ("parent portal", "parent", "/absences/"),
    ("uploaded evidence", "head", "/absences/leave/{leave}/document/"),
    ("letter PDF", "parent", "/letters/letter/{letter}.pdf"),
    ("evidence pack PDF", "head", "/letters/pupil/{child}/evidence.pdf"),
    ("dashboard export", "head", "/dashboard/export/headline.csv"),
    ("LA return export", "head", "/letters/returns/{submitted}/export.csv"),
]


@pytest.mark.parametrize("what,who,path", NO_STORE, ids=[n[0] for n in NO_STORE])
def test_pupil_pages_documents_and_exports_are_never_stored(world, people, what, who, path):  # noqa: F811
    url = path.format(**{k: getattr(v, "pk", v) for k, v in world.items()})
    r = client_for(people[who]).get(url)
    assert r.status_code == 200, (what, url)
    assert r["Cache-Control"] == "no-store, private", what


def test_static_files_keep_their_caching(db):
    r = client_for(None, host="localhost").get("/static/css/app.css")
    assert r.status_code == 200
    assert "no-store" not in r.get("Cache-Control", "")


# --- Django admin: platform host, superusers only -----------------------------------------------

@pytest.fixture
def platform_people(db):
    from tenants.models import User

    return {"superuser": User.objects.create_superuser("root", password="Root-pw-97531!"),
            "staff": User.objects.create_user("staffer", is_staff=True)}


def test_admin_is_not_on_a_schools_host(people, platform_people):
    for user in (None, platform_people["superuser"], people["head"]):
        assert client_for(user).get("/admin/").status_code == 404
        assert client_for(user).get("/admin/login/").status_code == 404


def test_admin_on_the_platform_host_is_for_superusers_only(people, platform_people):
    def get(user, path="/admin/"):
        return client_for(user, host="localhost").get(path)

    r = get(platform_people["staff"])  # is_staff alone, as Django's default site allows
    assert r.status_code == 302 and r["Location"].startswith("/admin/login/")
    assert get(platform_people["staff"], "/admin/tenants/school/").status_code == 302
    assert get(people["head"]).status_code == 302
    assert get(platform_people["superuser"]).status_code == 200
    assert get(platform_people["superuser"], "/admin/tenants/school/").status_code == 200


def test_admin_refuses_to_sign_in_a_staff_member_who_is_not_a_superuser(platform_people):
    staff = platform_people["staff"]
    staff.set_password("Staff-pw-97531!")
    staff.save()
    c = client_for(None, host="localhost")
    r = c.post("/admin/login/", {"username": "staffer", "password": "Staff-pw-97531!",
                                 "next": "/admin/"})
    assert c.get("/admin/").status_code == 302, r.status_code


# --- the public home page ------------------------------------------------------------------------

def home(user=None, **params):
    return client_for(user, host="localhost").get("/", params)


def test_home_page_lists_no_schools(school_a, school_b):
    connection.set_schema_to_public()
    r = home()
    assert r.status_code == 200
    html = r.content.decode()
    for school in (school_a, school_b):
        assert school.name not in html
    assert "a.localhost" not in html and "b.localhost" not in html
    assert 'href="/accounts/login/"' in html and 'name="q"' in html


def test_finder_needs_three_letters_or_a_urn(school_a, school_b):
    connection.set_schema_to_public()
    for q in ("Te", "T", "  te ", "12345"):
        html = home(q=q).content.decode()
        assert school_a.name not in html and school_b.name not in html, q
    html = home(q="Te").content.decode()
    assert "Type at least 3 letters" in html


def test_finder_finds_by_name_and_links_to_the_schools_host(school_a, school_b):
    connection.set_schema_to_public()
    r = client_for(None, host="localhost:8000").get("/", {"q": "school a"})
    html = r.content.decode()
    assert school_a.name in html and school_b.name not in html
    assert 'href="http://a.localhost:8000/"' in html


def test_finder_finds_by_exact_urn(school_a, school_b):
    from tenants.models import School

    connection.set_schema_to_public()
    School.objects.filter(pk=school_a.pk).update(urn="123456")
    html = home(q="123456").content.decode()
    assert school_a.name in html and school_b.name not in html
    assert school_a.name not in home(q="1234567").content.decode()


def test_finder_returns_only_a_few_matches(school_a, school_b, monkeypatch):
    from tenants import selectors

    connection.set_schema_to_public()
    monkeypatch.setattr(selectors, "FIND_LIMIT", 1)
    html = home(q="Test School").content.decode()
    assert (school_a.name in html) != (school_b.name in html)
    assert "More schools match" in html


def test_signed_in_person_sees_only_their_own_schools(people, school_a, school_b):
    connection.set_schema_to_public()
    html = home(people["office"]).content.decode()
    assert school_a.name in html and school_b.name not in html
