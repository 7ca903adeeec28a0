"""Memory of a 50 MB marks upload: what a web worker holds while it imports (issue 11.8).

    .venv/bin/python benchmarks/import_memory.py [--mb 50] [--keep]

Creates a scratch school (schema ``bench_imports``, host ``bench-imports.localhost``) with a
school year of 190 days and enough pupils for a marks file of about ``--mb`` MB (under the
upload form's 50 MiB limit), writes that file to disk as the body of a multipart POST and
runs the server side of the upload twice, each time into an empty marks table:

1. Django's request parsing (the body is read from a file, as from the socket; the upload
   goes to a temporary file), the upload form's checks and ``import_marks``. The process's
   resident memory (VmRSS) is sampled every 5 ms: the peak above the level before the
   request, and what is still held after it (after gc) are reported.
   Target: peak < 200 MB above the baseline.
2. The same with ``tracemalloc``: the peak of Python allocations and what remains after.

Prints a table of target / measured / PASS-FAIL and always exits 0 (a measurement).
Uses the database in DATABASE_URL; the scratch school is dropped at the end unless --keep.
"""

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _ROOT / "benchmarks"]
sys.path.insert(0, str(_ROOT))

import argparse  # noqa: E402
import gc  # noqa: E402
import os  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

from benchmarks._common import (  # noqa: E402
    Results,
    machine_load,
    pupils_create,
    school_year_calendar,
    scratch_tenant,
    setup_django,
)

SCHEMA, DOMAIN, NAME = "bench_imports", "bench-imports.localhost", "Benchmark Imports Primary"
TARGET_MB = 200
BOUNDARY = "----bench-imports-boundary"
ROW_BYTES = 31  # "A383200025001,2025-09-03,AM,/,\n"


def rss() -> int:
    """Resident set size of this process in bytes (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRSS:
    """Samples RSS in a thread while the block runs."""

    def __enter__(self):
        self.peak, self._stop = rss(), threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss())
            time.sleep(0.005)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss())


def write_body(path: Path, upns: list[str], days, target_bytes: int) -> tuple[int, int]:
    """The multipart body of an upload of a marks CSV; returns (CSV bytes, rows)."""
    codes = ["/", "/", "/", "/", "I", "/", "N", "/", "M", "/"]
    rows = size = 0
    with open(path, "w", newline="") as f:
        f.write(f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
                f"filename=\"marks.csv\"\r\nContent-Type: text/csv\r\n\r\n")
        head = "upn,date,session,code,minutes_late\n"
        f.write(head)
        size += len(head)
        buf = []
        for upn in upns:
            for day in days:
                for session in ("AM", "PM"):
                    code = codes[rows % 10] if session == "AM" else "\\"
                    line = f"{upn},{day.isoformat()},{session},{code},\n"
                    buf.append(line)
                    size += len(line)
                    rows += 1
            if len(buf) > 50_000:
                f.write("".join(buf))
                buf.clear()
            if size >= target_bytes:
                break
        f.write("".join(buf))
        f.write(f"\r\n--{BOUNDARY}--\r\n")
    return size, rows


def upload_and_import(body: Path, user):
    """The server side of POST /imports/marks/: parse the request, check the form, import."""
    from django.core.handlers.wsgi import WSGIRequest

    from registers import imports
    from registers.forms import ImportForm

    with open(body, "rb") as stream:
        request = WSGIRequest({
            "REQUEST_METHOD": "POST", "PATH_INFO": "/imports/marks/",
            "CONTENT_TYPE": f"multipart/form-data; boundary={BOUNDARY}",
            "CONTENT_LENGTH": str(body.stat().st_size), "wsgi.input": stream,
            "SERVER_NAME": DOMAIN, "SERVER_PORT": "80", "wsgi.url_scheme": "http"})
        form = ImportForm(request.POST, request.FILES)
        if not form.is_valid():
            raise SystemExit(f"upload form refused the file: {form.errors.as_text()}")
        upload = form.cleaned_data["file"]
        kind = type(upload).__name__
        try:
            result = imports.import_marks(upload, user=user, role="Office")
        finally:
            upload.close()
            request.close()
    return result, kind


def measure(results: Results, body: Path, csv_bytes: int, rows: int):
    from django.db import connection

    from registers.models import Mark, MarkWeek

    mb = csv_bytes / 1e6
    gc.collect()
    base = rss()
    start = time.perf_counter()
    with PeakRSS() as peak:
        result, kind = upload_and_import(body, None)
    secs = time.perf_counter() - start
    gc.collect()
    after = rss()
    extra = (peak.peak - base) / 1e6
    print(f"run 1: {mb:.1f} MB, {rows:,} rows, upload kept as {kind}: {secs:.1f} s, "
          f"{result.created:,} created; RSS {base / 1e6:.0f} MB before, peak "
          f"{peak.peak / 1e6:.0f} MB, {after / 1e6:.0f} MB after")
    results.add(f"upload + import of {mb:.1f} MB ({rows:,} marks), time",
                f"{secs:.1f} s ({rows / secs:,.0f} marks/s)")
    results.add("  upload kept on disk as", kind, "TemporaryUploadedFile",
                kind == "TemporaryUploadedFile")
    results.add("  peak extra resident memory (RSS)", f"{extra:.1f} MB", f"< {TARGET_MB} MB",
                extra < TARGET_MB)
    results.add("  resident memory still held afterwards", f"{(after - base) / 1e6:.1f} MB")

    with connection.cursor() as cur:
        cur.execute(f"TRUNCATE {Mark._meta.db_table}, {MarkWeek._meta.db_table}")
    gc.collect()
    tracemalloc.start()
    base_py = tracemalloc.get_traced_memory()[0]
    upload_and_import(body, None)
    gc.collect()
    now_py, peak_py = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"run 2 (tracemalloc): Python peak {(peak_py - base_py) / 1e6:.1f} MB, "
          f"{(now_py - base_py) / 1e6:.2f} MB after")
    results.add("  peak Python allocations (tracemalloc)", f"{(peak_py - base_py) / 1e6:.1f} MB",
                f"< {TARGET_MB} MB", (peak_py - base_py) / 1e6 < TARGET_MB)
    results.add("  Python allocations still held afterwards",
                f"{(now_py - base_py) / 1e6:.2f} MB", "< 5 MB", (now_py - base_py) / 1e6 < 5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=50.0, help="size of the marks file")
    parser.add_argument("--keep", action="store_true", help="keep the scratch school")
    args = parser.parse_args()
    setup_django()
    target = int(min(args.mb * 1e6, 50 * 1024 * 1024 - 100_000))
    pupils = int(target / (380 * ROW_BYTES)) + 1
    print(f"before: {machine_load()}")
    results = Results(f"Import memory benchmark: a {target / 1e6:.0f} MB marks upload")
    with scratch_tenant(SCHEMA, DOMAIN, NAME, preset="beecroft", keep=args.keep), \
            tempfile.TemporaryDirectory() as tmp:
        days = school_year_calendar(2025, 190)
        sizes = [30] * (pupils // 30) + ([pupils % 30] if pupils % 30 else [])
        classes = pupils_create(sizes)
        upns = [p.upn for _, ps in classes for p in ps]
        body = Path(tmp) / "body.multipart"
        csv_bytes, rows = write_body(body, upns, days, target)
        print(f"set-up: {len(upns):,} pupils, {len(days)} days; body {body.stat().st_size / 1e6:.1f} MB")
        measure(results, body, csv_bytes, rows)
    print(f"after: {machine_load()}")
    results.print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
