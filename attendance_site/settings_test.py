"""The test suite's settings: the real settings, read with a fixed test-only key over plain
http (the test client and the browser tests' live server speak http).

Only environment defaults are set here, before the real settings are read, so the rules stay
in one place; tests/security/test_production.py reads those settings in subprocesses with
DEBUG=0 and no LOCAL_HTTP, as production does.
"""

import os

os.environ.setdefault("SECRET_KEY", "test-only-key-never-used-in-production-0123456789abcdefghij")
os.environ.setdefault("LOCAL_HTTP", "1")
os.environ.setdefault("DASHBOARDS_CACHE", "local")  # cleared between tests; Redis's clear() is FLUSHDB
os.environ.setdefault("READY_SCHEMAS", "0")  # a test that wants ready schemas makes them itself

from .settings import *  # noqa: E402,F403
