"""The family's language (issue 14): which of ``settings.LANGUAGES`` a parent chose, read
from their contact record (``ContactPreference.language``), for the portal, emails, texts
and parent-facing letters. Blank or unknown means the school's language (English).

Staff pages are always English: only parents get their language activated (see
``absences.middleware``).
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import get_language_bidi, override

DEFAULT = settings.LANGUAGE_CODE
SESSION_KEY = "parent_language"


def codes() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def valid(code: str | None) -> str:
    """``code`` if it is one of the languages offered, else the default (English)."""
    return code if code in codes() else DEFAULT


def for_user(user) -> str:
    """The language a parent chose, from any of their contact records in this school."""
    from .models import ContactPreference

    code = (ContactPreference.objects.filter(contact__user=user).exclude(language="")
            .order_by("contact__priority", "pk").values_list("language", flat=True).first())
    return valid(code)


def for_contact(contact) -> str:
    """One contact's language (a contact without a login can still have one set)."""
    from .models import ContactPreference

    if contact is None:
        return DEFAULT
    pref = getattr(contact, "_language", None)
    if pref is None:
        pref = ContactPreference.objects.filter(contact=contact).values_list("language", flat=True).first()
    return valid(pref)


def for_pupil(pupil) -> str:
    """The family's language for letters: the first contact (by priority) who chose one."""
    from .models import ContactPreference

    code = (ContactPreference.objects.filter(contact__pupil=pupil).exclude(language="")
            .order_by("contact__priority").values_list("language", flat=True).first())
    return valid(code)


def for_pupils(pupil_ids) -> dict[int, str]:
    """{pupil id: family language} for many pupils in one query (letters in a batch)."""
    from .models import ContactPreference

    out: dict[int, str] = {}
    for pid, code in (ContactPreference.objects.filter(contact__pupil_id__in=list(pupil_ids))
                      .exclude(language="").order_by("contact__priority")
                      .values_list("contact__pupil_id", "language")):
        out.setdefault(pid, valid(code))
    return out


def is_rtl(code: str) -> bool:
    with override(code):
        return get_language_bidi()
