"""Fault injection against the real services (issue 11, items 5 and 6).

- A Celery worker is killed (SIGKILL) mid-batch, after the email provider took a letter
  but before the app recorded it: a second worker and the stall sweeper on Celery beat
  finish the batch, every email goes exactly once, and the interrupted one is marked for a
  person to check.
- Redis is stopped while a batch is saved: the person is told it will start when the queue
  is back, and it does. The Redis here is a private ``redis-server`` on a free port (the
  machine's shared Redis is never touched); the test process's Celery app is pointed at it.
- The app's database connections are dropped (``pg_terminate_backend`` from a second
  connection) under a real gunicorn server: a dead persistent connection is replaced; a
  register or absence report posted while the database refuses connections is refused with
  a clear 503 and not saved; posted during a brief outage it is saved by the one retry;
  cut off after its write began it is refused as not saved (the transaction rolled back).
  "Refuses connections" is ``ALTER DATABASE <test db> ALLOW_CONNECTIONS false`` on pytest's
  own test database; PostgreSQL itself is shared and never restarted.

Workers, beat and gunicorn are subprocesses on pytest's test database, so the data they see
is committed: a dedicated school (schema ``faults``) is created and dropped by the module, and
what a test itself must commit runs in a thread of its own (``committed``: its own connection,
autocommit) while the test's rolled-back transaction reads the others' commits (READ COMMITTED).
"""

from __future__ import annotations

import collections
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import psycopg
import pytest
from django.db import connection, connections
from django.db.models import Count
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from tests.conftest import drop_committed_schools, subprocess_database_url

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SCHEMA, DOMAIN = "faults", "faults.localhost"
USERS = ("faults_head", "faults_parent")
NOT_SAVED = "what you sent was <strong>not saved</strong>"

pytestmark = pytest.mark.django_db


def committed(fn, *args, **kwargs):
    """Run ``fn`` in a thread with its own database connection, so its writes commit."""
    out = {}

    def run():
        try:
            out["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # re-raised in the test
            out["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in out:
        raise out["error"]
    return out.get("value")


# --- processes ------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _until(check, timeout: float, what: str, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _spawn(args, log: Path, env: dict) -> subprocess.Popen:
    out = open(log, "ab")
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)
    out.close()
    return proc


def _stop(proc: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


class PrivateRedis:
    """A redis-server of our own on a free port, to stop and start at will."""

    def __init__(self, folder: Path):
        self.port, self.folder, self.proc = _free_port(), folder, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = _spawn(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                            "--save", "", "--appendonly", "no", "--dir", str(self.folder)],
                           self.folder / "redis.log", dict(os.environ))
        _until(self.ping, 10, "redis-server to start", 0.05)

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None
        assert not self.ping()


@contextmanager
def use_broker(url: str):
    """Point this process's Celery app at ``url`` (and back), dropping its cached pools."""
    from attendance_site.celery import app

    def reset():
        app._pool = None
        app.amqp._producer_pool = None

    old = app.conf.broker_url, app.conf.result_backend
    app.conf.broker_url, app.conf.result_backend = url, url
    reset()
    try:
        assert app.connection_for_write().port == int(url.rsplit(":", 1)[1].split("/")[0])
        yield app
    finally:
        app.conf.broker_url, app.conf.result_backend = old
        reset()


def _env(redis: PrivateRedis, folder: Path, **extra) -> dict:
    return {**os.environ, "DATABASE_URL": subprocess_database_url(), "REDIS_URL": redis.url,
            "CELERY_BROKER_URL": redis.url, "CELERY_RESULT_BACKEND": redis.url,
            "MEDIA_ROOT": str(folder / "media"), "LOG_LEVEL": "INFO", "PYTHONPATH": str(ROOT),
            "EMAIL_BACKEND": "tests.faults.email_backend.EmailBackend",
            "FAULT_MAIL_LOG": str(folder / "mail.log"), "FAULT_SCHEMAS": SCHEMA, **extra}


def _worker(env: dict, log: Path, name: str) -> subprocess.Popen:
    proc = _spawn([str(BIN / "celery"), "-A", "attendance_site", "worker", "--concurrency=1",
                   "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
                   "-n", f"{name}-{os.getpid()}@%h"], log, env)

    def ready():
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        return "ready." in log.read_text(errors="replace")

    _until(ready, 60, f"worker {name} to start")
    return proc


def _beat(env: dict, folder: Path) -> subprocess.Popen:
    return _spawn([str(BIN / "celery"), "-A", "tests.faults.beat_app", "beat", "--loglevel=INFO",
                   "--schedule", str(folder / "beat-schedule")], folder / "beat.log", env)


def _sent(folder: Path) -> collections.Counter:
    """Recipients of every email the provider accepted, across all worker processes."""
    log = folder / "mail.log"
    if not log.exists():
        return collections.Counter()
    return collections.Counter(to for line in log.read_text().splitlines()
                               for to in json.loads(line)["to"])


# --- the committed school ---------------------------------------------------------------------

def _school_days_before(today: date, n: int) -> list[date]:
    out, d = [], today
    while len(out) < n:
        d -= timedelta(days=1)
        if d.weekday() < 5:
            out.append(d)
    return out


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker, tmp_path_factory):
    from registers.calendar import calendar_replace
    from registers.models import CalendarEntry, Contact, Pupil, RegistrationGroup
    from tenants.models import User
    from tenants.roles import Role
    from tenants.services import person_grant, school_create
    from tests.conftest import make_upn
    from tests.letters.conftest import mark, school_days

    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday())
    with django_db_blocker.unblock():
        drop_committed_schools(SCHEMA)   # left over from an interrupted run (users are reused)
        school = school_create(schema=SCHEMA, name="Fault Injection Primary", domain=DOMAIN,
                               preset="beecroft")
        head = person_grant(username=USERS[0], role=Role.HEAD, school=school, first_name="Hana",
                            last_name="Head")
        parent = person_grant(username=USERS[1], role=Role.PARENT, school=school)
        with schema_context(SCHEMA):
            calendar_replace(entries=[CalendarEntry(
                kind="term", start_date=monday - timedelta(weeks=4),
                end_date=monday + timedelta(weeks=10, days=4), label="Live term")])
            y4 = RegistrationGroup.objects.create(name="4F", year_group=4)
            y3 = RegistrationGroup.objects.create(name="3F", year_group=3)
            days = school_days(monday - timedelta(weeks=4), 5)
            for i in range(48):
                group = y4 if i < 45 else y3
                p = Pupil.objects.create(
                    upn=make_upn(estab=7101, serial=i), legal_surname=f"Fault{i:02d}",
                    legal_forename="Kit", date_of_birth=date(2016, 9, 1 + i % 28), gender="M",
                    year_group=group.year_group, registration_group=group,
                    admission_date=date(2020, 9, 1))
                mark(p, days, "/")
                Contact.objects.create(pupil=p, priority=1, title="Mx", forename="Sam",
                                       surname=f"Fault{i:02d}", correspondence=True,
                                       address=f"{i} Fault Lane\nLeeds",
                                       email=f"fault{i}@example.org" if i % 3 else "",
                                       user=parent if i == 47 else None)
        connection.set_schema_to_public()
    yield {"school": school, "head": head, "parent": parent, "today": today}
    with django_db_blocker.unblock():
        with schema_context(SCHEMA):     # their register-group links live in the school's schema
            User.objects.filter(username__in=USERS).delete()
        drop_committed_schools(SCHEMA)


@pytest.fixture(scope="module")
def redis(tmp_path_factory):
    r = PrivateRedis(tmp_path_factory.mktemp("redis"))
    r.start()
    yield r
    r.stop()


# --- 11.5: a worker killed mid-batch ----------------------------------------------------------

def test_a_worker_killed_mid_batch_is_replaced_and_every_email_goes_once(site, redis, tmp_path):
    from letters import services
    from letters.models import Batch, Chunk, Letter, LetterEvent, LetterTemplate
    from registers.models import Pupil

    with schema_context(SCHEMA):
        year4 = Pupil.objects.filter(year_group=4).order_by("pk")
        hang_to = year4[4].contacts.get().email          # emailed in the first chunk
        assert hang_to
        env = _env(redis, tmp_path, FAULT_HANG_TO=hang_to, FAULT_HANG_MARK=str(tmp_path / "hung"))
        first = _worker(env, tmp_path / "worker1.log", "fault1")
        procs = [first]
        try:
            def save():
                with use_broker(redis.url), schema_context(SCHEMA):
                    saved = services.batch_create_picked(
                        template=LetterTemplate.objects.get(key="traffic_light"),
                        pupils=Pupil.objects.filter(year_group=4), trigger_key="fault:kill",
                        label="Killed worker")
                    services.batch_start(batch=saved)   # autocommit: handed to Redis at once
                    return saved

            batch = committed(save)
            assert batch.chunks.count() == 3 and not batch.chunks.filter(sent_at__isnull=True).exists()
            # The provider has taken the email to hang_to; the worker has not recorded it. Kill it.
            _until(lambda: (tmp_path / "hung").exists(), 120, "the worker to reach the email")
            _stop(first, signal.SIGKILL)
            hung = batch.letters.get(emailed_to=hang_to)
            assert hung.status == Letter.Status.SENDING and not hung.provider_id
            assert batch.chunks.filter(status=Chunk.Status.RUNNING).count() == 1
            # A new worker, and the stall sweeper on beat.
            procs.append(_worker(env, tmp_path / "worker2.log", "fault2"))
            procs.append(_beat(env, tmp_path))

            def finished():
                batch.refresh_from_db()
                hung.refresh_from_db()
                return batch.status == Batch.Status.DONE and hung.status == Letter.Status.CHECK

            _until(finished, 180, "the batch to finish and the interrupted email to be flagged")
        finally:
            for proc in reversed(procs):
                _stop(proc)
        letters = list(batch.letters.all())
        sent = _sent(tmp_path)
        emailed = {x.emailed_to for x in letters if x.status == Letter.Status.EMAILED}
        assert len(emailed) == 29 and all(x.provider_id for x in letters if x.emailed_to in emailed)
        # Exactly once each: the interrupted one included (it went, and was not sent again).
        assert set(sent) == emailed | {hang_to} and set(sent.values()) == {1}, sent
        assert "will not be sent again" in hung.error and hang_to in hung.error
        assert sorted({x.status for x in letters}) == ["check", "emailed", "rendered"]
        assert sum(x.status == Letter.Status.RENDERED for x in letters) == 15   # no email: print
        once = (LetterEvent.objects.filter(letter__batch=batch, kind="rendered").values("letter")
                .annotate(n=Count("id")))
        assert len(once) == 45 and {r["n"] for r in once} == {1}
        assert batch.chunks.get(letter_ids__contains=[hung.pk]).sends >= 2     # sent again
        assert batch.combined and batch.combined_pages >= 15
        log = (tmp_path / "worker2.log").read_text(errors="replace")
        assert "sweep_stalled_all_schools" in log


# --- 11.5: Redis down when a batch is saved ---------------------------------------------------

def test_a_batch_saved_while_redis_is_down_says_so_and_starts_when_it_is_back(site, redis, tmp_path):
    from letters.models import Batch, LetterTemplate

    env = _env(redis, tmp_path)
    with schema_context(SCHEMA):
        template = LetterTemplate.objects.get(key="traffic_light")
    redis.stop()

    def save():
        client = Client(HTTP_HOST=DOMAIN)
        client.force_login(site["head"])
        with use_broker(redis.url):
            return client.post("/letters/batches/new/", {
                "template": template.pk, "audience": "year", "year_group": 3,
                "trigger_key": "fault:redis", "send_email": "on"}, follow=True)

    started = time.monotonic()
    r = committed(save)
    took = time.monotonic() - started
    page = r.content.decode()
    assert r.status_code == 200 and took < 15
    assert "will start by itself when the queue is back" in page and 'id="waiting"' in page
    with schema_context(SCHEMA):
        batch = Batch.objects.get(trigger_key="fault:redis")
        assert batch.total == 3 and batch.chunks.get().sent_at is None
    redis.start()
    procs = [_worker(env, tmp_path / "worker.log", "fault3"), _beat(env, tmp_path)]
    try:
        with schema_context(SCHEMA):
            def done():
                batch.refresh_from_db()
                return batch.status == Batch.Status.DONE

            _until(done, 120, "the batch to run once Redis is back")
            statuses = sorted(batch.letters.values_list("status", flat=True))
    finally:
        for proc in reversed(procs):
            _stop(proc)
    assert statuses == ["emailed", "emailed", "rendered"]
    assert sorted(_sent(tmp_path).items()) == [("fault46@example.org", 1), ("fault47@example.org", 1)]


# --- 11.6: the database restarts under the web server -----------------------------------------

@pytest.fixture(scope="module")
def web(site, django_db_blocker, tmp_path_factory):
    """gunicorn (one sync worker, persistent connections) on the test database."""
    folder = tmp_path_factory.mktemp("web")
    port = _free_port()
    with django_db_blocker.unblock():
        url = subprocess_database_url() + "?application_name=fault-web"
        db = dict(connection.settings_dict)
    env = {**os.environ, "DATABASE_URL": url, "CONN_MAX_AGE": "600", "LOG_LEVEL": "WARNING",
           "PYTHONPATH": str(ROOT), "MEDIA_ROOT": str(folder / "media")}
    log = folder / "web.log"
    proc = _spawn([str(BIN / "gunicorn"), "attendance_site.wsgi", "--bind", f"127.0.0.1:{port}",
                   "--workers", "1", "--timeout", "60", "--error-logfile", "-"], log, env)

    def up():
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            return False

    _until(up, 60, "gunicorn to start")
    # A second connection, to the maintenance database: the test database cannot be told to
    # refuse connections from inside itself.
    # As the superuser (the app's role may not ALTER DATABASE or end other roles' backends).
    admin_url = urlsplit(os.environ.get("ADMIN_DATABASE_URL") or "postgres://postgres@")
    where = {"user": admin_url.username or "postgres", "password": admin_url.password,
             "host": db["HOST"] or "127.0.0.1", "port": db["PORT"] or 5432}
    admin = psycopg.connect(dbname="postgres", autocommit=True, **where)
    try:
        yield {"port": port, "log": log, "admin": admin, "db": db["NAME"], "where": where}
    finally:
        admin.execute(f'ALTER DATABASE "{db["NAME"]}" ALLOW_CONNECTIONS true')
        admin.close()
        _stop(proc)


class Browser:
    """A person's browser: cookies, the CSRF token, real HTTP to gunicorn."""

    def __init__(self, port: int, session: str):
        self.port, self.cookies = port, {"sessionid": session}

    def request(self, method: str, path: str, data: dict | None = None) -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=90)
        headers = {"Host": DOMAIN, "Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if data is not None:
            body = urlencode({**data, "csrfmiddlewaretoken": self.cookies.get("csrftoken", "")})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body, headers)
        resp = conn.getresponse()
        text = resp.read().decode(errors="replace")
        for cookie in resp.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        conn.close()
        return resp.status, text

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, data):
        return self.request("POST", path, data)


def _browser(web, user) -> Browser:
    def login():
        client = Client(HTTP_HOST=DOMAIN)
        client.force_login(user)
        return client.cookies["sessionid"].value

    return Browser(web["port"], committed(login))


def _terminate_web(web) -> int:
    return web["admin"].execute(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = %s AND application_name = 'fault-web'", [web["db"]]).fetchone()[0]


@contextmanager
def database_down(web):
    """The database refuses new connections and the app's connections are cut."""
    web["admin"].execute(f'ALTER DATABASE "{web["db"]}" ALLOW_CONNECTIONS false')
    try:
        assert _terminate_web(web) >= 1
        yield
    finally:
        web["admin"].execute(f'ALTER DATABASE "{web["db"]}" ALLOW_CONNECTIONS true')


def _register(site, day_index: int, session: str = "AM"):
    from registers.models import Mark, Pupil, RegistrationGroup

    day = _school_days_before(site["today"], 3)[day_index]
    with schema_context(SCHEMA):
        group = RegistrationGroup.objects.get(name="3F")
        pupils = list(Pupil.objects.filter(registration_group=group).values_list("pk", flat=True))

    def saved() -> int:
        with schema_context(SCHEMA):
            return Mark.objects.filter(pupil_id__in=pupils, date=day, session=session).count()

    path = f"/register/{group.pk}/{day.isoformat()}/{session}/"
    return path, {f"code-{pk}": "/" if session == "AM" else "\\" for pk in pupils}, saved


def _log_since(web, start: int) -> str:
    return web["log"].read_text(errors="replace")[start:]


def test_a_dead_persistent_connection_is_replaced_before_the_next_request(site, web):
    browser = _browser(web, site["head"])
    path, _, _ = _register(site, 0)
    assert browser.get(path)[0] == 200
    start = len(web["log"].read_text(errors="replace"))
    assert _terminate_web(web) >= 1                   # the worker's persistent connection(s)
    status, page = browser.get(path)
    assert status == 200 and "3F" in page
    log = _log_since(web, start)
    assert "retrying once" not in log and "Internal Server Error" not in log   # the health check did it


def test_a_register_or_report_posted_while_the_database_is_down_is_refused_not_lost(
        site, web):
    from absences.models import AbsenceReport
    from registers.models import Contact

    head = _browser(web, site["head"])
    parent = _browser(web, site["parent"])
    path, marks, saved = _register(site, 0)
    with schema_context(SCHEMA):
        child = Contact.objects.get(user=site["parent"]).pupil_id
    report = f"/absences/children/{child}/report/"
    day = site["today"] + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    answer = {"reason": "illness", "first_day": day.isoformat(), "first_session": "AM",
              "last_day": day.isoformat(), "last_session": "PM", "details": "posted during the restart"}
    assert head.get(path)[0] == 200 and parent.get(report)[0] == 200       # forms, CSRF cookies
    start = len(web["log"].read_text(errors="replace"))
    with database_down(web):
        status, page = head.post(path, marks)
        assert status == 503 and NOT_SAVED in page
        status, page = parent.post(report, answer)
        assert status == 503 and NOT_SAVED in page
    assert saved() == 0
    with schema_context(SCHEMA):
        assert not AbsenceReport.objects.filter(details="posted during the restart").exists()
    assert _log_since(web, start).count("retrying once") == 2     # then refused, not a 500
    # Back up: the same posts save.
    assert head.post(path, marks)[0] == 302 and saved() == 3
    assert parent.post(report, answer)[0] == 302
    with schema_context(SCHEMA):
        assert AbsenceReport.objects.filter(details="posted during the restart").count() == 1


def test_a_register_posted_during_a_brief_outage_is_saved_by_the_one_retry(site, web):
    head = _browser(web, site["head"])
    path, marks, saved = _register(site, 1)
    assert head.get(path)[0] == 200
    start = len(web["log"].read_text(errors="replace"))
    with database_down(web):
        back = threading.Timer(0.3, web["admin"].execute,
                               [f'ALTER DATABASE "{web["db"]}" ALLOW_CONNECTIONS true'])
        back.start()
        status, _ = head.post(path, marks)
        back.join()
    assert status == 302 and saved() == 3
    assert _log_since(web, start).count("retrying once") == 1


def test_a_connection_cut_after_the_write_began_is_refused_as_not_saved(site, web):
    head = _browser(web, site["head"])
    path, marks, saved = _register(site, 2)
    assert head.get(path)[0] == 200
    start = len(web["log"].read_text(errors="replace"))
    result = {}
    blocker = psycopg.connect(dbname=web["db"], autocommit=False, **web["where"])
    try:
        # Reads go on; the register's INSERT of marks waits for this lock.
        blocker.execute(f'LOCK TABLE "{SCHEMA}".registers_mark IN SHARE MODE')
        post = threading.Thread(target=lambda: result.update(r=head.post(path, marks)))
        post.start()
        _until(lambda: web["admin"].execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'fault-web' "
            "AND wait_event_type = 'Lock'").fetchone()[0], 30, "the register's write to wait")
        assert _terminate_web(web) == 1
    finally:
        blocker.rollback()
        blocker.close()
    post.join(60)
    status, page = result["r"]
    assert status == 503 and NOT_SAVED in page
    assert saved() == 0
    log = _log_since(web, start)
    assert "retrying once" not in log and "write attempted=True, saved=False" in log
    assert head.post(path, marks)[0] == 302 and saved() == 3
