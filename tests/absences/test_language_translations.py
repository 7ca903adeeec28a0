# ruff: noqa: E501  (the msgids are quoted whole, as in the catalogues)
"""Issue 14: every parent-facing string is translated in every catalogue (locale/).

Parent-facing: every msgid used in the parent templates and the leave rules parents read
(PARENT_FILES), and the parent-facing strings of the Python code (PARENT_MSGIDS: form labels,
reasons and statuses, the portal's confirmations and errors, messages and letters to families).
A new string in a parent template fails this test until ``makemessages`` is run and it is
translated in each language (README, "Translations").
"""

import ast
import re
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

LOCALE = Path(settings.BASE_DIR) / "locale"
LANGS = [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
PARENT_FILES = {
    "templates/base.html", "templates/absences/_nav.html", "templates/absences/portal.html",
    "templates/absences/child.html", "templates/absences/report_form.html",
    "templates/absences/leave_form.html", "templates/absences/leave_check.html",
    "templates/absences/leave_detail.html", "templates/absences/letter.html",
    "templates/absences/letter_body.html", "templates/absences/_expectations.html",
    "templates/absences/_leave_law.html", "templates/absences/_office_phone.html",
    "templates/absences/_rules.html", "templates/letters/pdf/letter.html",
    "templates/letters/pdf/_letterhead.html",
    "absences/rules.py",
}
PARENT_MSGIDS = [
    "Evidence, for example an appointment card (optional)",
    "A photo or scan: PDF, JPEG or PNG, up to 5 MB.",
    "Choose the file to upload.",
    "Thank you: the school office can now see the file.",
    "This report has already been accepted.",
    "%(school)s has written to you about %(name)s: “%(title)s”.",
    "%(when)s is already in the register as %(code)s (%(plain)s), so leave cannot be requested for it. Choose other dates or contact the school office.",
    "A letter from %(school)s about %(name)s",
    "A report can cover up to %(n)d days. For a longer absence please phone %(office)s.",
    "A request can cover up to %(n)d days.",
    "About the absence you reported for %(first)s (%(reason)s), the school office asks:",
    "Absence recorded: %(name)s",
    "Absence report accepted: %(name)s",
    "Accepted",
    "Anything the school should know (optional)",
    "Choose a language from the list.",
    "Choose a reason.",
    "Choose how you would like messages.",
    "Email",
    "Ending",
    "Exceptional circumstance",
    "Explain why you are asking for leave.",
    "Family holiday",
    "First day",
    "From the afternoon",
    "From the start of the day",
    "Granted",
    "Granted in full",
    "Granted in part",
    "How would you like messages from the school?",
    "Illness",
    "Last day",
    "Leave granted for %(name)s",
    "Leave partly granted for %(name)s",
    "Leave refused for %(name)s",
    "Medical",
    "Medical or dental appointment",
    "Morning only, back after lunch",
    "Other",
    "PDF, JPEG or PNG, up to 5 MB: for example an appointment letter or licence.",
    "Parent travelling for work (mobile family)",
    "Partly granted",
    "Performance licence",
    "Please reply through the parent portal or phone %(office)s.",
    "Queried",
    "Refused",
    "Religious observance",
    "Saved: the school will contact you that way.",
    "Saved: the school will write to you in this language.",
    "Starting",
    "Supporting document (optional)",
    "Text if there is a mobile number, else email",
    "Text message",
    "Text message and email",
    "Thank you. The school office has your report and will see it when the register is taken.",
    "The file is %(size).1f MB: the largest file you can upload is 5 MB.",
    "The headteacher has decided your request for %(first)s to %(last)s: %(outcome)s, %(granted)s of %(asked)s days granted.",
    "The largest file you can upload is 5 MB.",
    "The last day is before the first day.",
    "The last day your child will be away.",
    "The letter is attached to an email we have sent you.",
    "The letter will come by post or be handed to you. To talk about it, contact the school office.",
    "The school has a question about %(name)s's absence",
    "The school has accepted your report that %(name)s is absent from %(first)s to %(last)s (%(reason)s). The register shows: %(code)s.",
    "The school office recorded the absence you phoned in: %(name)s, %(first)s to %(last)s (%(reason)s). The register shows: %(code)s.",
    "There are no school sessions from %(first)s to %(last)s: the dates are a weekend, a holiday or outside the school's term dates.",
    "There is already a request waiting for a decision for some of these dates.",
    "To the end of the day",
    "Today's registers closed at %(time)s, so today's absence can no longer be reported here. Please phone %(office)s.",
    "Upload a PDF, JPEG or PNG file (a photo or scan of the letter is fine).",
    "Waiting for the headteacher",
    "Waiting for the office",
    "Why are you asking for leave?",
    "You can report today or future days here. For an absence that has already happened, please phone %(office)s.",
    "You have already reported an absence for %(name)s on some of these days.",
    "Your request has been sent to the headteacher. You will get the decision in writing.",
    "afternoon only",
    "all day",
    "morning only",
    "the school office",
    "the school office on %(phone)s",
    "{forename} is not in school today",
    "{forename} is not in school today. Please reply or call {school_phone}.",
    # Late arrivals (issue 14 item 3): the choice, its fields, its errors and the answer.
    "Arrived late",
    "Arrived late: the time your child arrived (HH:MM)",
    'Only for "Arrived late": today, for example 09:25.',
    "Write the time as hours and minutes, for example 09:25.",
    "Arrived late: why was your child late?",
    "A late arrival can only be reported on the day, for today.",
    "Give the time %(name)s arrived at school, for example 09:25.",
    "Tell the school why %(name)s arrived late.",
    "The time of arrival, %(time)s, is later than now (%(now)s): give the time %(name)s actually arrived.",
    "At %(time)s %(name)s was in time for the afternoon register. If %(name)s missed the morning, report an absence for this morning instead.",
    "School counts a child as late only after %(late)s, so at %(time)s %(name)s was on time: there is nothing to report.",
    "Today is not a school day for %(name)s.",
    "You have already told the school about %(name)s for this session today. To add something, please phone %(office)s.",
    "The school has accepted your report that %(name)s arrived late at %(time)s on %(day)s. The register shows: %(code)s.",
    "Late arrival report accepted: %(name)s",
]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%\(\w+\)\.\d+f|\{\w+\}")


def parse_po(path: Path) -> list[dict]:
    """Entries of a .po file: msgid, msgid_plural, msgstr {n: text}, refs (file paths), flags."""
    entries, cur, key = [], None, None
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            if cur and cur.get("msgid"):
                entries.append(cur)
            cur = None
            continue
        cur = cur or {"refs": set(), "msgstr": {}, "flags": ""}
        if line.startswith("#:"):
            cur["refs"] |= {r.rsplit(":", 1)[0] for r in line[2:].split()}
        elif line.startswith("#,"):
            cur["flags"] += line
        elif line.startswith("#"):
            continue
        else:
            m = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d)\])?)\s+(".*")$', line)
            if m:
                key, value = m.group(1), ast.literal_eval(m.group(3))
                if key.startswith("msgstr"):
                    key = int(m.group(2) or 0)
                    cur["msgstr"][key] = value
                else:
                    cur[key] = value
            elif isinstance(key, int):
                cur["msgstr"][key] += ast.literal_eval(line)
            else:
                cur[key] += ast.literal_eval(line)
    return entries


def parent_entries(lang: str) -> tuple[list[dict], set[str]]:
    entries = parse_po(LOCALE / lang / "LC_MESSAGES" / "django.po")
    wanted = set(PARENT_MSGIDS)
    return [e for e in entries if e["refs"] & PARENT_FILES or e["msgid"] in wanted], \
        {e["msgid"] for e in entries}


@pytest.mark.parametrize("lang", LANGS)
def test_every_parent_facing_string_is_translated(lang):
    entries, known = parent_entries(lang)
    assert len(entries) > 200  # the portal, the forms, the rules, letters and messages
    assert not set(PARENT_MSGIDS) - known, "run makemessages: strings missing from the catalogue"
    missing = [e["msgid"] for e in entries
               if "fuzzy" in e["flags"] or not all(v.strip() for v in e["msgstr"].values())
               or not e["msgstr"]]
    assert missing == [], f"{lang}: {len(missing)} parent-facing string(s) not translated: {missing[:5]}"


@pytest.mark.parametrize("lang", LANGS)
def test_translations_keep_every_placeholder(lang):
    """A translation that drops or renames %(name)s or {forename} would crash or mislead."""
    entries, _known = parent_entries(lang)
    bad = [(e["msgid"], s) for e in entries for s in e["msgstr"].values()
           if sorted(set(PLACEHOLDER.findall(s))) != sorted(set(PLACEHOLDER.findall(
               e.get("msgid_plural", e["msgid"]) if len(e["msgstr"]) > 1 else e["msgid"])))
           and not ("msgid_plural" in e and set(PLACEHOLDER.findall(s)) <= set(
               PLACEHOLDER.findall(e["msgid_plural"])))]
    assert bad == []


def test_catalogues_compile_and_are_used():
    """msgfmt accepts every catalogue (format strings checked), and Django reads the compiled
    ones (make test and make run compile them; .mo files are not committed)."""
    for lang in LANGS:
        po = LOCALE / lang / "LC_MESSAGES" / "django.po"
        subprocess.run(["msgfmt", "--check", "-o", "/dev/null", str(po)], check=True,
                       capture_output=True)
    with translation.override("pl"):
        assert translation.gettext("Report an absence") == "Zgłoś nieobecność"
    with translation.override("ar"):
        assert translation.get_language_bidi() and translation.gettext("Your children") == "أطفالك"
