"""Issue 10, finding 1: a letter template must not reach outside the letter.

The attack: an attendance lead saves a template whose markup survives sanitising (escaped
markup inside things that look like template tags, or inside template string literals),
pointing WeasyPrint at a file outside the fonts folder (encoded ``..`` segments), which
WeasyPrint then embeds in the PDF as an attachment sent to parents. Every test plants a
secret file, renders real PDFs and looks for it in the attachments and in every stream.
"""

from __future__ import annotations

import io
import re
import uuid
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError

from letters import merge, pdf, services
from letters.models import Letter, LetterTemplate
from registers.models import Pupil
from tests.conftest import client_for

from .conftest import contact, mark, school_days

AS_OF = date(2026, 1, 30)
FONTS = pdf.FONTS_DIR.as_uri()
UP = "/".join(["%2e%2e"] * 12)  # more than enough parent steps to reach /


# --- helpers -------------------------------------------------------------------------

def streams(data: bytes) -> list[bytes]:
    """Every stream of the PDF, decoded (embedded files are compressed streams)."""
    from pypdf import PdfReader
    from pypdf.generic import IndirectObject, StreamObject

    reader = PdfReader(io.BytesIO(data))
    out = []
    for num in range(1, int(reader.trailer["/Size"])):
        try:
            obj = reader.get_object(IndirectObject(num, 0, reader))
        except Exception:  # noqa: BLE001 - free object numbers
            continue
        if isinstance(obj, StreamObject):
            try:
                out.append(obj.get_data())
            except Exception:  # noqa: BLE001 - an undecodable stream is still a stream
                out.append(obj._data)
    return out


def attachments(data: bytes) -> list[str]:
    """Embedded files (document level) and file-attachment annotations (page level)."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    found = list(reader.attachments)
    for page in reader.pages:
        for annot in page.get("/Annots") or []:
            if annot.get_object().get("/Subtype") == "/FileAttachment":
                found.append("annotation")
    return found


def live_attachments(html: str) -> list:
    """Tags an HTML parser sees as a link or a rel=attachment (escaped text does not count)."""
    from html.parser import HTMLParser

    found = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            rel = (dict(attrs).get("rel") or "").lower()
            if tag == "link" or "attachment" in rel:
                found.append((tag, attrs))

    Parser().feed(html)
    return found


def assert_clean(data: bytes, *secrets: str) -> None:
    """No attachment, and no secret in the text or in any stream of the PDF."""
    assert data.startswith(b"%PDF")
    assert attachments(data) == []
    assert b"/EmbeddedFile" not in data and b"/FileAttachment" not in data
    text = pdf.pdf_text(data)
    blob = b"\n".join(streams(data))
    for secret in secrets:
        assert secret not in text
        assert secret.encode() not in blob


@pytest.fixture
def secret(tmp_path) -> tuple[Path, str]:
    """A file the app can read but no letter may show: (path, marker text)."""
    marker = f"SECRET-{uuid.uuid4().hex}"
    path = tmp_path / "secret.txt"
    path.write_text(f"{marker}\n")
    return path, marker


@pytest.fixture
def secret_key_file() -> tuple[Path, str]:
    """The install's own secret key file (settings write it when SECRET_KEY is unset)."""
    path = Path(settings.BASE_DIR) / "var" / "secret_key"
    if not path.exists():
        pytest.skip("SECRET_KEY comes from the environment: no var/secret_key to steal")
    return path, path.read_text().strip()


def walk_out(path: Path, *, up: str = UP) -> str:
    """A URL that starts in the fonts folder and walks out of it to ``path``."""
    return f"{FONTS}/{up}{path.as_posix()}"


@pytest.fixture
def sam(calendar, make_pupil):
    p = make_pupil(group="4B", year_group=4, legal_forename="Samuel", legal_surname="Smith",
                   preferred_forename="Sam")
    mark(p, school_days(date(2026, 1, 5), 10), "/")
    contact(p)
    contact(p, title="Mr", forename="John", surname="Doe", priority=2)  # so join has a joiner
    return p


def save_through_form(people, body: str, key: str = "evil") -> tuple[int, LetterTemplate | None]:
    """Save a template as the attendance lead does: the real page and form."""
    lead = client_for(people["attendance_officer"])
    r = lead.post("/letters/templates/new/", {"key": key, "name": "Evil", "kind": "letter",
                                              "body": body, "active": "on"})
    return r.status_code, LetterTemplate.objects.filter(key=key).first()


def letter_pdf(template: LetterTemplate, pupil: Pupil, trigger: str = "t") -> bytes:
    """Render the template for the pupil as a real batch does (what parents receive)."""
    batch = services.batch_create_picked(template=template, pupils=Pupil.objects.filter(pk=pupil.pk),
                                         trigger_key=trigger, as_of=AS_OF, send_email=False)
    services.batch_start(batch=batch)
    for chunk in batch.chunks.all():
        services.batch_render_chunk(chunk_id=chunk.pk)
    letter = batch.letters.get()
    if letter.status != Letter.Status.RENDERED:
        return b""
    with letter.file.open("rb") as f:
        return f.read()


def preview_pdf(people, body: str, pupil: Pupil) -> bytes:
    lead = client_for(people["attendance_officer"])
    r = lead.post("/letters/templates/preview/", {"body": body, "kind": "letter",
                                                  "pupil": pupil.pk, "format": "pdf"})
    assert r.status_code in (200, 400)
    return r.content if r.status_code == 200 else b""


# --- the reported attack, end to end -------------------------------------------------

def attack_bodies(target: Path) -> dict[str, str]:
    """The two reported sanitiser escapes, each carrying a rel=attachment link out."""
    url = walk_out(target)
    a = f'&lt;a rel="attachment" href="{url}"&gt;x&lt;/a&gt;'
    link = f'&lt;link rel="attachment" href="{url}"&gt;'
    return {
        # Escaped markup inside something that looks like a template tag ({{ ... %}).
        "tag-lookalike": f"<p>Dear parent {{{{{a}%}}</p>",
        "tag-lookalike-link": f"<p>{{%{link}}}}}</p>",
        # Escaped markup inside a template string literal.
        "string-literal": f"<p>{{{{ '{a}' }}}}</p>",
        "filter-literal": f"<p>{{{{ meeting.place|default:'{a}' }}}}</p>",
        "join-literal": f"<p>{{{{ contacts|join:'{link}' }}}}</p>",
    }


@pytest.mark.parametrize("shape", list(attack_bodies(Path("/x"))))
def test_reported_attack_saved_through_the_form_leaks_nothing(people, sam, secret, shape):
    path, marker = secret
    body = attack_bodies(path)[shape]
    status, template = save_through_form(people, body)
    assert status in (200, 302)
    if template is not None:  # saved (markup gone) or refused: either way nothing leaks
        assert not live_attachments(template.body)  # escaped text at most
        data = letter_pdf(template, sam)
        if data:
            assert_clean(data, marker)
    data = preview_pdf(people, body, sam)
    if data:
        assert_clean(data, marker)


def test_reported_attack_cannot_reach_the_secret_key(people, sam, secret_key_file):
    path, key = secret_key_file
    for shape, body in attack_bodies(path).items():
        _status, template = save_through_form(people, body, key=f"evil-{shape}")
        if template is not None:
            assert_clean(letter_pdf(template, sam, trigger=shape), key)
        data = preview_pdf(people, body, sam)
        if data:
            assert_clean(data, key)


# --- the allow-list ------------------------------------------------------------------

FETCHING_TAGS = {"link", "object", "embed", "iframe", "frame", "style", "img", "image", "svg",
                 "base", "meta", "script", "video", "audio", "source", "picture", "input",
                 "form", "math", "template", "use", "feimage", "portal", "applet", "param"}
FETCHING_ATTRS = {"src", "srcset", "style", "rel", "data", "background", "poster", "xlink:href",
                  "action", "formaction", "codebase", "cite", "longdesc", "usemap", "id", "name"}


def test_allow_list_has_nothing_that_fetches_or_attaches():
    assert not merge.ALLOWED_HTML_TAGS & FETCHING_TAGS
    assert all(not attrs & FETCHING_ATTRS for attrs in merge.ALLOWED_ATTRIBUTES.values())
    assert merge.URL_SCHEMES == {"https", "mailto", "tel"}


def marker_url(path: Path) -> str:
    return walk_out(path)


RAW_MARKUP = {
    "link": '<link rel="attachment" href="{url}">',
    "link-upper": '<LINK REL=ATTACHMENT HREF="{url}">',
    "a-attachment": '<a rel="attachment" href="{url}">x</a>',
    "a-attachment-https": '<a rel="attachment" href="https://example.org/x">x</a>',
    "a-file-entity": '<a rel="attachment" href="file&#58;///{plain}">x</a>',
    "img": '<img src="{url}">',
    "img-plain": '<img src="file://{plain}">',
    "img-data": '<img src="data:image/png;base64,iVBORw0KGgo=">',
    "object": '<object data="{url}"></object>',
    "embed": '<embed src="{url}">',
    "iframe": '<iframe src="{url}"></iframe>',
    "style-import": '<style>@import url("{url}");</style>',
    "style-font-face": '<style>@font-face {{ font-family: X; src: url("{url}"); }}'
                       ' p {{ font-family: X; }}</style>',
    "style-attr": '<p style="background: url(\'{url}\')">x</p>',
    "style-attr-list": '<ul><li style="list-style-image: url({url})">x</li></ul>',
    "svg-image": '<svg><image href="{url}" width="10" height="10"/></svg>',
    "svg-xlink": '<svg><image xlink:href="{url}"/></svg>',
    "svg-use": '<svg><use href="{url}#x"/></svg>',
    "base": '<base href="{fonts}/{up}/"><a rel="attachment" href="{rel}">x</a>',
    "table-background": '<table background="{url}"><tr><td>x</td></tr></table>',
    "video-poster": '<video poster="{url}"></video>',
    "math": '<math><mtext><img src="{url}"></mtext></math>',
    "comment": '<!--><link rel="attachment" href="{url}">-->',
    "noscript": '<noscript><link rel="attachment" href="{url}"></noscript>',
    "textarea-breakout": '<textarea></textarea><link rel="attachment" href="{url}">',
}


def fill(shape: str, path: Path) -> str:
    return RAW_MARKUP[shape].format(url=marker_url(path), plain=path.as_posix().lstrip("/"),
                                    fonts=FONTS, up=UP, rel=path.as_posix().lstrip("/"))


@pytest.mark.parametrize("shape", list(RAW_MARKUP))
def test_markup_that_fetches_is_removed_at_save_and_leaks_nothing(people, sam, secret, shape):
    path, marker = secret
    status, template = save_through_form(people, f"<p>Dear {{{{ salutation }}}}</p>{fill(shape, path)}")
    assert status == 302 and template is not None
    for tag in re.findall(r"<[^>]*>", template.body.lower()):  # live markup (text is escaped)
        assert re.match(r"</?([a-z0-9]+)", tag)[1] in merge.ALLOWED_HTML_TAGS, tag
        for word in ("src=", "style", "url(", "attachment", "file:", "data:", "rel="):
            assert word not in tag or tag.startswith("<a ") and word == "rel=", tag
    assert_clean(letter_pdf(template, sam), marker)


# --- template syntax ----------------------------------------------------------------------

@pytest.mark.parametrize("body, words", [
    ("{{ '<link rel=\"attachment\" href=\"x\">' }}", "HTML cannot go inside a merge tag"),
    ("{{ meeting.place|default:'<b>hi</b>' }}", "HTML cannot go inside a merge tag"),
    ("{% if pupil.sen == '<b>' %}x{% endif %}", "HTML cannot go inside a merge tag"),
    ("{% comment '<link rel=attachment>' %}{% endcomment %}", "HTML cannot go inside a merge tag"),
    ("{# <link rel=attachment href=x> #}", "HTML cannot go inside a merge tag"),
    ("{{ meeting.place|default:'a > b' }}", "cannot contain < or >"),
    ("{{ contacts|join:'<' }}", "cannot contain < or >"),
    ("{% for c in 'a>b' %}{% endfor %}", "cannot contain < or >"),
    ("{{ _('<b>') }}", "HTML cannot go inside a merge tag"),
    ("{{ _('a>b') }}", "Translated text"),
    ("{{ _('&lt;i&gt;') }}", "Translated text"),
    ("{{ meeting.place|default:_('x') }}", "Translated text"),
    ("{% if pupil.sen == _('x') %}{% endif %}", "Translated text"),
    ("{% include 'letters/pdf/letter.html' %}", "include"),
    ("{% ssi '/etc/passwd' %}", "ssi"),
    ("{% load static %}{% static 'x' %}", "load"),
    ("{% extends 'base.html' %}", "extends"),
    ("{% debug %}", "debug"),
    ("{% autoescape off %}{{ pupil.forename }}{% endautoescape %}", "autoescape"),
    ("{% filter safe %}x{% endfilter %}", "filter"),
    ("{% verbatim %}x{% endverbatim %}", "verbatim"),
    ("{% templatetag openblock %}", "templatetag"),
    ("{% with x=pupil.forename %}{{ x }}{% endwith %}", "with"),
    ("{% url 'letters:home' %}", "url"),
    ("{% now 'Y' %}", "now"),
    ("{{ pupil.forename|safe }}", "safe"),
    ("{{ contacts|safeseq }}", "safeseq"),
    ("{{ pupil.forename|urlize }}", "urlize"),
    ("{{ pupil.forename|stringformat:'s' }}", "stringformat"),
    ("{{ pupil.forename|json_script:'x' }}", "json_script"),
    ("{{ pupil.__class__ }}", "pupil.__class__"),
    ("{{ settings.SECRET_KEY }}", "settings.SECRET_KEY"),
    ("{% for c in contacts %}{{ c.email }}{% endfor %}", "c.email"),
])
def test_template_syntax_that_could_escape_is_refused(school_a, body, words):
    with pytest.raises(ValidationError) as exc:
        services.template_save(key="bad", name="Bad", body=f"<p>{body}</p>")
    assert words in str(exc.value)
    assert not LetterTemplate.objects.filter(key="bad").exists()


def test_quoted_text_is_printed_escaped_not_as_markup(school_a, sam):
    t = services.template_save(key="q", name="Q", body=(
        "<p>{{ leave.comment|default:'Tom & Jerry' }}|{{ '&lt;b&gt;' }}|{{ '&lt;i&gt;'|lower }}|"
        "{{ leave.comment|default:'a \"b\"' }}|{{ pupil.forename|add:' & co' }}</p>"))
    html = merge.render_body(merge.compile_body(t.body), merge.sample_context())
    assert "Tom &amp; Jerry" in html and "&amp;lt;b&amp;gt;" in html and "&amp;lt;i&amp;gt;" in html
    assert "<b>" not in html and "<i>" not in html and "Sam &amp; co" in html
    assert "Tom & Jerry" in flat(pdf.pdf_text(letter_pdf(t, sam)))


def flat(text: str) -> str:
    return " ".join(text.split())


def test_template_tags_split_over_markup_leave_only_text(people, sam, secret):
    """Markup assembled from pieces around or across template tags never comes alive."""
    path, marker = secret
    url = marker_url(path)
    for i, body in enumerate([
        f'&lt;{{% if 1 %}}link{{% endif %}} rel="attachment" href="{url}"&gt;',
        f'<{{% if 1 %}}link{{% endif %}} rel="attachment" href="{url}">',
        f'&l{{% if 1 %}}{{% endif %}}t;a rel="attachment" href="{url}"&gt;x',
        f"{{{{\n'<link rel=\"attachment\" href=\"{url}\">' }}}}",  # a newline: not a Django tag
        '<a href="https://x/{{ pupil.forename }}" rel="attachment">x</a>',
        '<td colspan="{{ meeting.place|default:\'1&quot; rel=&quot;attachment\' }}">x</td>',
        f'mergetag0000000000000000n0z <link rel="attachment" href="{url}">',  # forged placeholder
    ]):
        _status, template = save_through_form(people, body, key=f"split-{i}")
        if template is not None:
            assert not live_attachments(template.body)
            assert_clean(letter_pdf(template, sam, trigger=f"s{i}"), marker)


def test_forged_placeholder_stays_text(school_a):
    body = "<p>mergetag0000000000000000n0z {{ pupil.forename }}</p>"
    assert services.template_save(key="p", name="P", body=body).body == body


# --- merge values -------------------------------------------------------------------------

def test_merge_values_with_markup_or_template_syntax_are_printed_as_text(people, school_a, make_pupil,
                                                                          calendar, secret):
    """Names, addresses and settings typed by staff (or imported) carry no markup into letters."""
    from absences.models import LeaveDecision  # noqa: F401 - the leave fields are merged too
    from letters.models import LetterSettings

    path, marker = secret
    url = marker_url(path)
    evil = f'<link rel="attachment" href="{url}">'
    short = '<a rel="attachment" href="/etc/passwd">x</a>'  # fits a 100-character name
    p = make_pupil(group="4B", year_group=4, legal_forename=f"<b>Sam</b>{short}",
                   legal_surname="{% include 'x' %}", preferred_forename="{{ settings.SECRET_KEY }}")
    contact(p, forename=short, surname="Smith",
            address=f"1 High St\n{evil}\nLeeds")
    LetterSettings.objects.filter(pk=LetterSettings.get().pk).update(
        attendance_lead=short, letterhead_note=short, signatory_name="<i>Head</i>")
    body = ("<p>{{ pupil.legal_name }} / {{ pupil.forename }} / {{ recipients }} / {{ salutation }}"
            " / {{ attendance_lead }} / {{ signatory.name }} / {{ address_label }}</p>"
            "{% for c in contacts %}<p>{{ c.name|upper }} {{ c.address_label }} {{ c }}</p>{% endfor %}"
            "<p>{{ contacts|join:', ' }} {{ pupil.forename|linebreaksbr }}</p>")
    status, template = save_through_form(people, body, key="values")
    assert status == 302
    data = letter_pdf(template, p)
    assert_clean(data, marker)
    text = flat(pdf.pdf_text(data))
    assert "<b>Sam</b>" in text and "{% include 'x' %}" in text
    assert "{{ settings.SECRET_KEY }}" in text and "<i>Head</i>" in text
    assert settings.SECRET_KEY not in text


# --- templates stored before the fix ---------------------------------------------------------

def test_a_template_stored_before_the_fix_renders_clean_or_fails(school_a, sam, secret):
    """Bodies saved by the old sanitiser (live markup) are cleaned after merging; bodies with
    markup in quoted text are refused when compiled, so the letter fails with a reason."""
    path, marker = secret
    url = marker_url(path)
    live = LetterTemplate.objects.create(key="old-live", name="Old", body=(
        f'<p>{{{{ salutation }}}}{{{{<a rel="attachment" href="{url}">x</a>%}}</p>'
        f'<link rel="attachment" href="{url}"><img src="{url}">'
        f'<style>@import url("{url}");</style><p style="background:url({url})">y</p>'))
    assert_clean(letter_pdf(live, sam, trigger="old1"), marker)
    literal = LetterTemplate.objects.create(key="old-literal", name="Old 2", body=(
        f"<p>{{{{ '<a rel=\"attachment\" href=\"{url}\">x</a>' }}}}</p>"))
    assert letter_pdf(literal, sam, trigger="old2") == b""
    letter = Letter.objects.get(trigger_key="old2")
    assert letter.status == Letter.Status.FAILED
    assert letter.error.startswith("The template 'Old 2' must be edited and saved again: HTML cannot")


def test_preview_html_is_sanitised_after_merging(people, sam, secret):
    path, _marker = secret
    lead = client_for(people["attendance_officer"])
    body = f'<p>{{{{<a rel="attachment" href="{marker_url(path)}">x</a>%}}</p>'
    r = lead.post("/letters/templates/preview/", {"body": body.replace("<", "&lt;").replace(">", "&gt;"),
                                                  "kind": "letter", "pupil": sam.pk})
    html = r.json()["html"]
    assert not live_attachments(html)


# --- legitimate letters still work ---------------------------------------------------------

def test_formatting_tables_links_and_fonts_survive(school_a, sam):
    body = ('<h2>Attendance</h2><p><strong>Bold</strong> <em>it</em> <u>u</u></p>'
            '<ul><li>one</li></ul><ol><li>two</li></ol>'
            '<table class="form-table"><tr><th scope="row">Name</th><td colspan="2">'
            '{{ pupil.legal_name }}</td></tr></table>'
            '{% if attendance.pct < 90 %}<p class="notice">Below 90</p>{% endif %}'
            '{{ learning_lost_table }}<p>{{ address_label }}</p>'
            '<p><a href="https://school.example/attendance">our policy</a> '
            '<a href="mailto:{{ school.email }}">email us</a></p>'
            '<table class="signature-block"><tr><td class="signature-line"></td></tr></table>')
    t = services.template_save(key="ok", name="OK", body=body)
    for kept in ('<strong>Bold</strong>', '<th scope="row">', '<td colspan="2">', 'class="notice"',
                 "{% if attendance.pct < 90 %}", 'href="https://school.example/attendance"',
                 'href="mailto:{{ school.email }}"', 'class="signature-line"'):
        assert kept in t.body, kept
    html = merge.render_body(merge.compile_body(t.body), merge.sample_context())
    assert '<table class="lost-table">' in html and '<tr class="lead">' in html
    assert "1 High Street<br>Leeds" in html and 'href="mailto:office@example.org"' in html
    data = letter_pdf(t, sam)
    assert_clean(data)
    text = flat(pdf.pdf_text(data))
    assert "Bold" in text and "Samuel Smith" in text and "Learning Hours Lost" in text
    assert {"Letter-Sans", "Letter-Sans-Bold"} <= fonts_of(data)  # the vendored fonts loaded


def fonts_of(data: bytes) -> set[str]:
    """Font names used on the pages, without the subset prefix ("ABCDEF+Letter-Sans")."""
    from pypdf import PdfReader

    out = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            out.add(str(font.get_object()["/BaseFont"]).split("+")[-1])
    return out


# --- the URL fetcher ----------------------------------------------------------------------

def font_url(name: str = "DejaVuSans.ttf") -> str:
    return f"{FONTS}/{name}"


def fetch(fetcher, url: str) -> bytes | None:
    """The bytes served for ``url``, or None if the fetcher refused it."""
    try:
        response = fetcher.fetch(url)
    except Exception:  # noqa: BLE001 - refused
        return None
    return response.read()


def test_fetcher_serves_the_fonts_by_exact_path():
    fetcher = pdf._fetcher()
    for name in pdf.FONT_FILES:
        assert fetch(fetcher, font_url(name)) == (pdf.FONTS_DIR / name).read_bytes()
    assert fetch(fetcher, "data:text/plain,hello") == b"hello"


def refused_urls(target: Path) -> dict[str, str]:
    t = target.as_posix().lstrip("/")
    return {
        "encoded-dots": f"{FONTS}/{UP}/{t}",
        "upper-encoded": f"{FONTS}/{UP.replace('%2e', '%2E')}/{t}",
        "half-encoded": f"{FONTS}/{'/'.join(['.%2e'] * 12)}/{t}",
        "half-encoded-2": f"{FONTS}/{'/'.join(['%2e.'] * 12)}/{t}",
        "encoded-slash": f"{FONTS}/{'%2e%2e%2f' * 12}{t}",
        "dots-encoded-slash": f"{FONTS}/{'..%2f' * 12}{t}",
        "double-encoded": f"{FONTS}/{'/'.join(['%252e%252e'] * 12)}/{t}",
        "triple-encoded": f"{FONTS}/{'/'.join(['%25252e%25252e'] * 12)}/{t}",
        "overlong-utf8": f"{FONTS}/{'/'.join(['%c0%ae%c0%ae'] * 12)}/{t}",
        "backslash": f"{FONTS}/{'..%5c' * 12}{t}",
        "plain-dots": f"{FONTS}/{'/'.join(['..'] * 12)}/{t}",
        "direct": target.as_uri(),
        "upper-scheme": "FILE://" + target.as_uri()[7:],
        "localhost": f"file://localhost/{t}",
        "host": f"file://evil.example/{t}",
        "one-slash": f"file:/{t}",
        "double-slash-path": f"file:////{t}",
        "font-then-nul": font_url("DejaVuSans.ttf%00") + "/" + t,
        "font-as-dir": font_url() + f"/{UP}/{t}",
        "query": font_url() + "?x=1",
        "fragment": font_url() + "#x",
        "other-font-dir-file": f"{FONTS}/DejaVu-LICENSE.txt",
        "fonts-dir": f"{FONTS}/",
        "http": "http://127.0.0.1:9/x",
        "https": "https://example.org/x",
        "ftp": "ftp://127.0.0.1/x",
        "relative": "secret.txt",
        "proc": f"file:///proc/self/root{pdf.FONTS_DIR.as_posix()}/DejaVuSans.ttf",
    }


@pytest.mark.parametrize("shape", list(refused_urls(Path("/x"))))
def test_fetcher_refuses_every_other_url(secret, shape):
    path, _marker = secret
    assert fetch(pdf._fetcher(), refused_urls(path)[shape]) is None


def test_fetcher_refuses_symlinks_out_of_the_fonts_folder(tmp_path, secret):
    """A font folder with a symlinked 'font', a symlinked folder, and a font swapped for a
    symlink after the fetcher was made: none of them serves the secret."""
    path, _marker = secret
    fonts = tmp_path / "fonts"
    fonts.mkdir()
    for name in pdf.FONT_FILES:
        (fonts / name).write_bytes((pdf.FONTS_DIR / name).read_bytes())
    (fonts / "evil.ttf").symlink_to(path)
    (fonts / "sub").symlink_to(path.parent)
    fetcher = pdf._local_files_fetcher(fonts / name for name in pdf.FONT_FILES)
    base = fonts.as_uri()
    assert fetch(fetcher, f"{base}/DejaVuSans.ttf") is not None
    assert fetch(fetcher, f"{base}/evil.ttf") is None
    assert fetch(fetcher, f"{base}/sub/{path.name}") is None
    assert fetch(fetcher, f"{base}/sub/../DejaVuSans.ttf") is None  # resolves elsewhere
    (fonts / "DejaVuSans.ttf").unlink()
    (fonts / "DejaVuSans.ttf").symlink_to(path)
    assert fetch(fetcher, f"{base}/DejaVuSans.ttf") is None


# --- the renderer on its own (trusted HTML, the fetcher as the last line) -------------------

def raw_html_attacks(path: Path) -> dict[str, str]:
    urls = refused_urls(path)
    enc, dbl = urls["encoded-dots"], urls["double-encoded"]
    t = path.as_posix().lstrip("/")
    return {
        "link": f'<link rel="attachment" href="{enc}">',
        "a": f'<a rel="attachment" href="{enc}">x</a>',
        "a-double": f'<a rel="attachment" href="{dbl}">x</a>',
        "a-direct": f'<a rel="attachment" href="{path.as_uri()}">x</a>',
        "img": f'<img src="{enc}">',
        "object": f'<object data="{enc}" type="text/plain"></object>',
        "embed": f'<embed src="{enc}" type="text/plain">',
        "css-import": f'<style>@import url("{enc}");</style>',
        "css-import-data": '<style>@import url("data:text/css,@import url(%22'
                           + enc.replace("%", "%25") + '%22);");</style>',
        "css-font-face": f'<style>@font-face {{ font-family: X; src: url("{enc}"); }}'
                         ' p { font-family: X; }</style><p>x</p>',
        "css-background": f'<p style="background: url(\'{enc}\')">x</p>',
        "css-content": f'<style>p::before {{ content: url("{enc}"); }}</style><p>x</p>',
        "svg": f'<svg width="10" height="10"><image href="{enc}" width="10" height="10"/></svg>',
        "base": f'<head><base href="{FONTS}/{UP}/"></head><a rel="attachment" href="{t}">x</a>',
    }


@pytest.mark.parametrize("shape", list(raw_html_attacks(Path("/x"))))
def test_renderer_fetches_nothing_outside_the_fonts(secret, shape):
    path, marker = secret
    data, _pages = pdf.html_to_pdf(f"<p>Letter</p>{raw_html_attacks(path)[shape]}")
    assert_clean(data, marker)
    assert "Letter" in pdf.pdf_text(data)


def test_renderer_still_draws_data_images():
    png = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==")
    data, _pages = pdf.html_to_pdf(f'<p>x</p><img src="data:image/png;base64,{png}" width="20">')
    assert b"/Subtype /Image" in data or b"/Image" in data


# --- second opinion: attacks on the fix itself ----------------------------------------------

@pytest.mark.parametrize("body, refused", [
    # Entities the sanitiser decodes can assemble a template tag after the tags were held:
    # the checks run on the sanitised body, so the new tag is checked like any other.
    ("{&#123; pupil.secret }}", "pupil.secret"),
    ("&#123;&#123; pupil.secret }}", "pupil.secret"),
    ("{&#37; include 'letters/pdf/letter.html' %}", "include"),
    ("&lbrace;% ssi '/etc/passwd' %&rbrace;", "ssi"),
    ("{&#123; pupil.forename|safe }}", "safe"),
    ("{&#37; autoescape off %}x{&#37; endautoescape %}", "autoescape"),
])
def test_entities_that_decode_into_template_tags_are_checked(school_a, body, refused):
    with pytest.raises(ValidationError) as exc:
        services.template_save(key="ent", name="Ent", body=f"<p>{body}</p>")
    assert refused in str(exc.value)


def test_entities_that_decode_into_a_literal_with_markup_stay_text(people, sam, secret):
    path, marker = secret
    body = f"<p>{{&#123; '&lt;link rel=\"attachment\" href=\"{marker_url(path)}\"&gt;' }}}}</p>"
    _status, template = save_through_form(people, body, key="ent2")
    assert template is not None and not live_attachments(template.body)
    assert_clean(letter_pdf(template, sam), marker)


def test_merge_values_inside_attributes_cannot_break_out(people, school_a, make_pupil, calendar,
                                                         secret):
    path, marker = secret
    p = make_pupil(group="4B", year_group=4, legal_forename='x" rel="attachment" href="/etc/passwd',
                   preferred_forename="' onload='x")
    contact(p, email="a@b.example")
    body = ('<p><a href="https://school.example/{{ pupil.legal_forename }}">a</a>'
            '<a href="mailto:{{ pupil.forename }}">b</a></p>'
            '<table><tr><td colspan="{{ pupil.legal_forename }}">c</td></tr></table>')
    status, template = save_through_form(people, body, key="attr")
    assert status == 302
    html = merge.render_body(merge.compile_body(template.body),
                             services.Bundle.load([p.pk]).context(p.pk))
    assert not live_attachments(html) and 'rel="noopener noreferrer"' in html
    assert "&quot; rel=&quot;attachment" in html  # the value stayed inside its attribute
    assert_clean(letter_pdf(template, p), marker)


def test_svg_in_a_data_url_cannot_fetch_files_either(secret):
    """data: URLs are served, but what they reference goes through the same fetcher."""
    from urllib.parse import quote

    path, marker = secret
    enc = refused_urls(path)["encoded-dots"]
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
           f'width="20" height="20"><image xlink:href="{enc}" href="{enc}" width="20" height="20"/>'
           f'<style>@import url("{enc}");</style><text y="10">svg</text></svg>')
    data, _ = pdf.html_to_pdf(f'<p>x</p><img src="data:image/svg+xml,{quote(svg)}">')
    assert_clean(data, marker)


def test_the_stored_body_is_what_was_checked(school_a):
    """Saving twice gives the same body: nothing the sanitiser does creates new tags later."""
    body = ("<p>{&#123; pupil.forename }} &lt;b&gt; {% if attendance.pct < 90 %}x{% endif %}</p>"
            "<p>{{ meeting.place|default:'a & b' }}</p>")
    first = services.template_save(key="twice", name="T", body=body).body
    assert services.template_save(key="twice", name="T", body=first).body == first
