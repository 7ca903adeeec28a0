"""HTML to print-ready A4 PDF with WeasyPrint, and joining PDFs for printing.

One ``FontConfiguration`` and one parsed stylesheet per process (measured: ~43 ms a letter
when shared). The fonts are the project's own copies of DejaVu Sans, and Noto Naskh Arabic and
Noto Nastaliq Urdu for letters in Arabic and Urdu (static/fonts, OFL). Nothing is
ever fetched over the network or from any other file: the URL fetcher serves the vendored
fonts by exact path and ``data:`` URLs, and refuses everything else (issue 10).
"""

from __future__ import annotations

import atexit
import io
import posixpath
from functools import cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings

FONTS_DIR = Path(settings.BASE_DIR) / "static" / "fonts"

PAGE_CSS = """
@font-face { font-family: "Letter Sans"; src: url("{FONTS}/DejaVuSans.ttf"); }
@font-face { font-family: "Letter Sans"; font-weight: bold; src: url("{FONTS}/DejaVuSans-Bold.ttf"); }
@font-face { font-family: "Letter Sans"; font-style: italic; src: url("{FONTS}/DejaVuSans-Oblique.ttf"); }
@font-face { font-family: "Letter Naskh"; src: url("{FONTS}/NotoNaskhArabic-Regular.ttf"); }
@font-face { font-family: "Letter Nastaliq"; src: url("{FONTS}/NotoNastaliqUrdu-Regular.ttf"); }
@page { size: A4; margin: 18mm 18mm 20mm 20mm; }
@page landscape { size: A4 landscape; margin: 12mm 12mm 14mm 12mm; }
html { font-family: "Letter Sans", sans-serif; font-size: 10pt; line-height: 1.35; color: #111; }
body { margin: 0; }
p { margin: 0 0 0.55em 0; }
h1 { font-size: 14pt; margin: 0 0 0.4em 0; }
h2 { font-size: 12pt; margin: 0.8em 0 0.3em 0; }
h3 { font-size: 10.5pt; margin: 0.6em 0 0.2em 0; }
table { border-collapse: collapse; }
.letterhead { border-bottom: 1.5pt solid #1f3c88; padding-bottom: 3mm; margin-bottom: 6mm;
              display: table; width: 100%; }
.letterhead > div, .address-row > div { display: table-cell; vertical-align: top; }
.letterhead .name { font-size: 15pt; font-weight: bold; color: #1f3c88; }
.letterhead .contact { font-size: 8pt; text-align: right; color: #333; }
.address-row { display: table; width: 100%; margin-bottom: 8mm; height: 28mm; }
.address { width: 85mm; }
.date { text-align: right; }
.lost-table, .form-table, .data-table { width: 100%; margin: 0.6em 0; font-size: 9pt; }
.lost-table th, .lost-table td, .form-table th, .form-table td, .data-table th, .data-table td
  { border: 0.6pt solid #666; padding: 1.2mm 2mm; text-align: left; vertical-align: top; }
.lost-table th, .data-table th, .form-table th { background: #e8ecf5; }
.form-table th { width: 38%; }
.form-table td.blank, .form-table td.tall { height: 18mm; }
tr.lead td { font-weight: bold; }
.signature-block { margin-top: 10mm; width: 100%; page-break-inside: avoid; }
.signature-block td { border: none; padding: 6mm 2mm 1mm 0; vertical-align: bottom; }
.signature-line { border-bottom: 0.6pt solid #000 !important; min-width: 50mm; height: 8mm; }
.page-break { page-break-before: always; }
.boxed { border: 0.8pt solid #444; padding: 3mm; margin: 3mm 0; }
.muted, .small { color: #555; font-size: 8.5pt; }
.right { text-align: right; } .centre { text-align: center; }
.codes td { font-family: "Letter Sans"; text-align: center; padding: 0.6mm 1mm; font-size: 8pt; }
.codes th { font-size: 8pt; padding: 0.6mm 1mm; }
.sheet { page: landscape; }
html:lang(ar) { font-family: "Letter Naskh", "Letter Sans", sans-serif; font-size: 11pt; }
html:lang(ur) { font-family: "Letter Nastaliq", "Letter Naskh", "Letter Sans", sans-serif; line-height: 2; }
html[dir="rtl"] .letterhead .contact, html[dir="rtl"] .date, html[dir="rtl"] .right { text-align: left; }
html[dir="rtl"] .lost-table th, html[dir="rtl"] .lost-table td, html[dir="rtl"] .form-table th,
html[dir="rtl"] .form-table td, html[dir="rtl"] .data-table th,
html[dir="rtl"] .data-table td { text-align: right; }
"""

PAGE_NUMBERS_CSS = """
@page { @bottom-right { content: "Page " counter(page) " of " counter(pages);
                        font-family: "Letter Sans"; font-size: 8pt; color: #555; } }
@page landscape { @bottom-right { content: "Page " counter(page) " of " counter(pages);
                        font-family: "Letter Sans"; font-size: 8pt; color: #555; } }
"""


FONT_FILES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf",
              "NotoNaskhArabic-Regular.ttf", "NotoNastaliqUrdu-Regular.ttf")
MIME_TYPES = {".ttf": "font/ttf", ".otf": "font/otf", ".woff": "font/woff", ".woff2": "font/woff2",
              ".png": "image/png", ".jpg": "image/jpeg", ".svg": "image/svg+xml"}


def _local_files_fetcher(files):
    """A WeasyPrint URL fetcher that serves exactly ``files`` (paths) and ``data:`` URLs.

    A ``file:`` URL is decoded once, normalised and compared with the fixed set; one with a
    host, query or fragment, or not in the set, is refused, as is every other scheme. The
    file served is the one resolved when the fetcher was made, and only while the requested
    path still resolves to it (a file swapped for a symlink is refused)."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    allowed = {posixpath.normpath(str(Path(f).absolute())): Path(f).resolve(strict=True)
               for f in files}

    class LocalFilesOnly(URLFetcher):
        def allowed_path(self, url: str) -> Path | None:
            parts = urlsplit(url)
            if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost") \
                    or parts.query or parts.fragment or "?" in url or "#" in url:
                return None
            path = unquote(parts.path)  # once: "%252e" stays a literal "%2e", not in the set
            real = allowed.get(posixpath.normpath(path)) if path.startswith("/") else None
            try:
                if real is None or Path(path).resolve(strict=True) != real:
                    return None
            except (OSError, RuntimeError, ValueError):  # missing, a symlink loop, NUL
                return None
            return real

        def fetch(self, url, headers=None):
            if url[:5].lower() == "data:":
                return super().fetch(url, headers)  # allowed_protocols: data only
            path = self.allowed_path(url)
            if path is None:
                raise ValueError(f"resource refused: {url[:80]}")
            return URLFetcherResponse(
                path.as_uri(), path.read_bytes(),
                {"Content-Type": MIME_TYPES.get(path.suffix.lower(), "application/octet-stream")})

    return LocalFilesOnly(allowed_protocols={"data"}, allow_redirects=False)


def _fetcher():
    """Serve only the vendored fonts (and data: URLs): no network, no other file."""
    return _local_files_fetcher(FONTS_DIR / name for name in FONT_FILES)


@cache
def _resources():
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    fetcher = _fetcher()
    base = CSS(string=PAGE_CSS.replace("{FONTS}", FONTS_DIR.as_uri()), font_config=fonts,
               url_fetcher=fetcher)
    numbers = CSS(string=PAGE_NUMBERS_CSS, font_config=fonts)
    # Free the font configuration while the interpreter is still whole (quiet exit).
    atexit.register(_resources.cache_clear)
    return fonts, base, numbers, fetcher


def html_to_pdf(html: str, *, page_numbers: str = "auto") -> tuple[bytes, int]:
    """Render HTML to PDF bytes; returns ``(pdf, pages)``.

    ``page_numbers``: "auto" numbers the pages only when there is more than one page,
    "always" or "never".
    """
    from weasyprint import HTML

    fonts, base, numbers, fetcher = _resources()
    doc = HTML(string=html, url_fetcher=fetcher)
    sheets = [base] + ([numbers] if page_numbers == "always" else [])
    rendered = doc.render(stylesheets=sheets, font_config=fonts)
    if page_numbers == "auto" and len(rendered.pages) > 1:
        rendered = doc.render(stylesheets=[base, numbers], font_config=fonts)
    return rendered.write_pdf(), len(rendered.pages)


def pdf_join(parts: list[bytes]) -> bytes:
    """One PDF from many (a batch for printing)."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for part in parts:
        writer.append(io.BytesIO(part))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_text(data: bytes) -> str:
    """The text of a PDF (tests and checks read letters this way)."""
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)
