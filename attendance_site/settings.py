"""Settings, read strictly from the environment with working local defaults."""

import os
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)


def _local_secret_key() -> str:
    """A random key kept in var/, for local DEBUG runs only (make run)."""
    import secrets

    path = BASE_DIR / "var" / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


# Production-safe by default: with DEBUG off the key must come from the environment, and be
# long enough to sign sessions and password-reset links (Django's own bar: 50 characters).
SECRET_KEY = env("SECRET_KEY", default="")
if not DEBUG and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured(
        "SECRET_KEY must be set (50 or more random characters) when DEBUG is off. Generate one "
        "with: python -c 'import secrets; print(secrets.token_urlsafe(50))' "
        "(or set DEBUG=1 for a local development run).")
SECRET_KEY = SECRET_KEY or _local_secret_key()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[".localhost", "localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list(
    "CSRF_TRUSTED_ORIGINS", default=["http://*.localhost:8000", "http://localhost:8000"]
)
# The domain suffix under which each school gets a subdomain (beecroft.localhost).
TENANT_BASE_DOMAIN = env("TENANT_BASE_DOMAIN", default="localhost")

SHARED_APPS = [
    "django_tenants",
    "tenants",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "attendance_site.apps.PlatformAdminConfig",  # django.contrib.admin, superusers only
    "csp",
    "django.contrib.humanize",
    "axes",
    # Two-factor sign-in: devices belong to people, who are shared, so they live in public.
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "crispy_forms",
    "crispy_bootstrap5",
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "registers",
    "absences",
    "escalation",
    "letters",
    "recognition",
]
INSTALLED_APPS = list(SHARED_APPS) + [a for a in TENANT_APPS if a not in SHARED_APPS]
# The top layer: no models of their own (docs/architecture.md).
INSTALLED_APPS += ["dashboards", "demo"]

TENANT_MODEL = "tenants.School"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_URLCONF = "attendance_site.urls_public"
ROOT_URLCONF = "attendance_site.urls"
SHOW_PUBLIC_IF_NO_TENANT_FOUND = True
# Set the search_path once per tenant switch, not before every query.
TENANT_LIMIT_SET_CALLS = True
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
# Issue 18: a new school's schema is a copy of this migrated template schema (no School row),
# which migrate_schemas keeps up to date with every school (tenants/provisioning.py).
# Empty (TENANT_BASE_SCHEMA=) falls back to running every migration for each new school.
TENANT_BASE_SCHEMA = env("TENANT_BASE_SCHEMA", default="school_template")
TENANT_CREATION_FAKES_MIGRATIONS = bool(TENANT_BASE_SCHEMA)
# Copies of the template made ahead of time, so a new school's schema is ready at once (each an
# empty school's size on disk, about 2.5 MB and 410 relations; 0: copied when a school is made).
READY_SCHEMAS = env.int("READY_SCHEMAS", default=4) if TENANT_BASE_SCHEMA else 0
# migrate_schemas --executor=multiprocessing: processes, and schools handed to each at a time.
TENANT_MULTIPROCESSING_MAX_PROCESSES = env.int("TENANT_MULTIPROCESSING_MAX_PROCESSES", default=2)
TENANT_MULTIPROCESSING_CHUNKS = env.int("TENANT_MULTIPROCESSING_CHUNKS", default=8)

MIDDLEWARE = [
    # Issue 11: outermost, so a database error anywhere (even the tenant lookup) is retried once
    # if nothing was written yet, else answered with a clear 503 "not saved" page.
    "attendance_site.db_retry.DatabaseRetryMiddleware",
    # django-tenants' TenantMainMiddleware, one round trip fewer per request (issue 18.5).
    "tenants.middleware.SchoolMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below WhiteNoise: static files keep their long cache; everything the app makes does not.
    "attendance_site.middleware.NoStoreMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "tenants.middleware.MembershipMiddleware",
    # Below the memberships: parents see their chosen language, staff always English.
    "absences.middleware.ParentLanguageMiddleware",
    "tenants.twofactor.TwoFactorMiddleware",
    "axes.middleware.AxesMiddleware",
    "attendance_site.middleware.RejectNulMiddleware",  # issue 11.4: NUL in a parameter is a 400
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenants.context_processors.school",
                "absences.context_processors.waiting",
            ],
        },
    },
]
WSGI_APPLICATION = "attendance_site.wsgi.application"

# Two PostgreSQL roles (attendance_site/db_roles.py): the app connects as a role that owns
# nothing; schemas are created and migrated as the owner (OWNER_DATABASE_URL; its database
# name is not used: the owner works in DATABASE_URL's database).
_DATABASE_URL = env("DATABASE_URL", default="postgres://attendance_app@127.0.0.1:5432/attendance")
DATABASES = {"default": env.db_url_config(_DATABASE_URL, engine="django_tenants.postgresql_backend")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
# Issue 11: a persistent connection that died (database restart) is noticed and replaced at
# the start of the next request instead of failing it.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
# Issue 18: behind pgbouncer in transaction pooling (DATABASE_POOLING=transaction) every
# statement carries its school's search_path (attendance_site/pooled_backend), never a session's.
DATABASE_POOLING = env("DATABASE_POOLING", default="")
if DATABASE_POOLING == "transaction":
    DATABASES["default"]["ENGINE"] = "attendance_site.pooled_backend"
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
elif DATABASE_POOLING:
    raise ImproperlyConfigured("DATABASE_POOLING is 'transaction' (pgbouncer) or empty")


def _owner_url_default() -> str:
    """DATABASE_URL's server and database, as the user attendance_owner (no password)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(_DATABASE_URL)
    return urlunsplit(parts._replace(netloc=f"attendance_owner@{parts.netloc.rpartition('@')[2]}"))


OWNER_DATABASE = env.db_url_config(env("OWNER_DATABASE_URL", default=None) or _owner_url_default())
GET_EXECUTOR_FUNCTION = "attendance_site.db_roles.get_executor"  # migrate_schemas runs as the owner
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "tenants.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login rate limiting (tenants/lockout.py). A person's username locks after AXES_FAILURE_LIMIT
# failures, wherever they come from; one address (a password sprayer) locks after the higher
# AXES_IP_FAILURE_LIMIT. Failures during a lockout do not restart it, and a password reset
# (by email) clears the person's lockout, so the real user can always get back in.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_IP_FAILURE_LIMIT = env.int("AXES_IP_FAILURE_LIMIT", default=50)
AXES_COOLOFF_TIME = 0.25
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_HANDLER = "tenants.lockout.LockoutHandler"
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

# Password reset links are short-lived; staff invitations last longer (tenants/tokens.py).
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=60 * 60)
INVITATION_TIMEOUT = env.int("INVITATION_TIMEOUT", default=3 * 24 * 60 * 60)
# Password reset requests per hour: per address asked for, and per client address.
PASSWORD_RESET_RATE = {"email": 3, "ip": 20}
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", default="School attendance")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 10
# Optional single sign-on across a trust's school subdomains, e.g. ".trust.example.org".
SESSION_COOKIE_DOMAIN = env("SESSION_COOKIE_DOMAIN", default=None)
CSRF_COOKIE_DOMAIN = SESSION_COOKIE_DOMAIN
# HTTPS unless told otherwise. LOCAL_HTTP=1 (the default with DEBUG=1; make run, the test
# suite) serves plain http on this machine: no Secure cookies, no HSTS, no redirect to https.
# Anything else sits behind a TLS proxy that sets X-Forwarded-Proto (docker-compose.yml).
LOCAL_HTTP = env.bool("LOCAL_HTTP", default=DEBUG)
HTTPS = not LOCAL_HTTP
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS  # every school is a subdomain of the platform
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=HTTPS)
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy: only the app's own scripts, styles, fonts and images (data: for
# Bootstrap's built-in SVG icons). No inline <script>, <style>, style="" or on*="" anywhere:
# page scripts live in static/js, dynamic colours and lengths are SVG attributes.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

LANGUAGE_CODE = "en-gb"
# The languages a parent can choose for the portal, emails, texts and letters (issue 14).
# Each name is written in its own language (what the parent looks for). A school adds one by
# adding it here and to locale/ (README "Translations"); right-to-left ones are Django's
# LANGUAGES_BIDI (Arabic, Urdu, Persian, Hebrew...). Staff pages stay in English.
LANGUAGES = [("en-gb", "English"), ("pl", "Polski"), ("ro", "Română"), ("ur", "اردو"),
             ("ar", "العربية")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
# Serve app static files straight from the source folders too (no collectstatic needed to try it).
WHITENOISE_USE_FINDERS = True
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")
STORAGES = {
    "default": {
        "BACKEND": "django_tenants.files.storage.TenantFileSystemStorage",
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MULTITENANT_RELATIVE_MEDIA_ROOT = "%s"
# Uploads over 2.5 MB are streamed to a temporary file on disk, never held in a worker's
# memory; the imports read them line by line (issue 11.8).
FILE_UPLOAD_MAX_MEMORY_SIZE = env.int("FILE_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 20000

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

EMAIL_BACKEND = env(
    "EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="attendance@localhost")

# Issue 14: text messages to families (absences/sms.py). Console in development, a JSON-lines
# file for the demo, GOV.UK Notify in production (the API key only ever from the environment).
SMS_BACKEND = env("SMS_BACKEND", default="absences.sms.ConsoleBackend")
SMS_FILE_PATH = env("SMS_FILE_PATH", default=str(BASE_DIR / "var" / "sms.jsonl"))
NOTIFY_API_KEY = env("NOTIFY_API_KEY", default="")
NOTIFY_SMS_TEMPLATE_ID = env("NOTIFY_SMS_TEMPLATE_ID", default="")
NOTIFY_BASE_URL = env("NOTIFY_BASE_URL", default="https://api.notifications.service.gov.uk")

REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # Counts waiting in the staff menu (absences.selectors.waiting_counts), per web worker.
    "menu": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "menu"},
    # Counters every web worker must share (password reset rate limits).
    "ratelimit": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                  "LOCATION": REDIS_URL, "KEY_PREFIX": "rl"},
}
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=REDIS_URL)
# A prefix on every Redis key and queue name of this installation. Under pytest (which sets
# PYTEST_VERSION) each run has its own, passed on to the workers it starts (tests/conftest.py),
# so a `make run` worker on the same Redis never takes a test's tasks, nor the reverse.
CELERY_KEY_PREFIX = env("CELERY_KEY_PREFIX", default=(
    f"test-{os.getpid()}-" if "PYTEST_VERSION" in os.environ else ""))
CACHES["ratelimit"]["KEY_PREFIX"] = f"{CELERY_KEY_PREFIX}rl"  # test runs count on their own
# Issue 18.4: dashboard figures, shared by every web worker and the Celery worker that warms
# them after register saves (dashboards/figures.py).
# DASHBOARDS_CACHE=local keeps them per process (the test suite, which clears it between tests).
CACHES["dashboards"] = (
    {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "dashboards"}
    if env("DASHBOARDS_CACHE", default="redis") == "local" else
    {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
     "KEY_PREFIX": f"{CELERY_KEY_PREFIX}dash"})
if CELERY_KEY_PREFIX:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": CELERY_KEY_PREFIX}
    CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"global_keyprefix": CELERY_KEY_PREFIX}
    CELERY_TASK_DEFAULT_QUEUE = f"{CELERY_KEY_PREFIX}celery"
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 60 * 30
CELERY_TIMEZONE = TIME_ZONE
# Issue 18.3: school tasks of the nightly run queued or running at once (escalation/tasks.py).
NIGHTLY_IN_FLIGHT = env.int("NIGHTLY_IN_FLIGHT", default=64)
CELERY_BEAT_SCHEDULE = {
    "nightly-recompute": {
        "task": "escalation.tasks.nightly_all_schools",
        "schedule": __import__("celery.schedules").schedules.crontab(hour=1, minute=30),
    },
    "letters-returns-due": {
        "task": "letters.tasks.returns_due_all_schools",
        "schedule": __import__("celery.schedules").schedules.crontab(hour=3, minute=0),
    },
    # Issue 18.1: ready copies of the template schema for new schools (also after each taken).
    "tenants-ready-schemas": {
        "task": "tenants.tasks.ready_schemas_fill",
        "schedule": 15 * 60.0,
        "options": {"expires": 14 * 60},
    },
    # Issue 18.4: each school's default dashboard for the new day, after the nightly run.
    "dashboards-warm": {
        "task": "dashboards.tasks.dashboard_warm_all_schools",
        "schedule": __import__("celery.schedules").schedules.crontab(hour=4, minute=0),
    },
    # Issue 16: each school's daily register extract for the DfE, after registers close.
    "registers-dfe-extract": {
        "task": "registers.tasks.dfe_extract_all_schools",
        "schedule": __import__("celery.schedules").schedules.crontab(hour=18, minute=0,
                                                                     day_of_week="mon-fri"),
    },
    # Issue 11: batches and chunks whose worker died or whose enqueue failed are sent again;
    # emails claimed but never confirmed are marked for a person to check.
    "letters-sweep-stalled": {
        "task": "letters.tasks.sweep_stalled_all_schools",
        "schedule": 120.0,
        "options": {"expires": 110},  # a backlogged worker runs one sweep, not a pile
    },
    # Issue 14: first-day messages claimed but never confirmed are marked for a person to check.
    "absences-first-day-auto-send": {
        "task": "absences.tasks.auto_send_all_schools",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
    # Issue 17: teachers reminded of registers still not taken after closing (if the school
    # has set a number of minutes).
    "absences-register-reminders": {
        "task": "absences.tasks.register_reminders_all_schools",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
    "absences-sweep-family-messages": {
        "task": "absences.tasks.sweep_family_messages_all_schools",
        "schedule": 300.0,
        "options": {"expires": 290},
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="WARNING")},
}
