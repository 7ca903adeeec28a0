"""The app's own error pages (400, 403, 404, 500), with the navigation, never a debug page.

A 500 may come from a broken database connection: rendering the navigation needs the
user and their roles, so if that fails too a plain page is sent instead.
"""

import logging

from django.http import Http404, HttpResponse
from django.shortcuts import render

logger = logging.getLogger(__name__)

PLAIN_500 = ("<!doctype html><html lang=\"en-GB\"><head><meta charset=\"utf-8\">"
             "<title>Something went wrong</title></head><body><main><h1>Something went wrong"
             "</h1><p>The problem has been logged. Nothing you did caused it.</p>"
             "<p><a href=\"/\">Go to the home page</a></p></main></body></html>")


def _back(request) -> str:
    """Where "Back" leads without script: the previous page of this site, else home."""
    from django.utils.http import url_has_allowed_host_and_scheme

    referer = request.META.get("HTTP_REFERER", "")
    try:
        host = request.get_host()
    except Exception:  # noqa: BLE001 - a bad Host header is itself the error being shown
        return "/"
    ok = referer and url_has_allowed_host_and_scheme(referer, allowed_hosts={host},
                                                     require_https=request.is_secure())
    return referer if ok else "/"


def _page(request, status: int, message: str = ""):
    return render(request, f"{status}.html", {"message": message, "back": _back(request)},
                  status=status)


def bad_request(request, exception=None):
    return _page(request, 400, str(exception) if isinstance(exception, BadInput) else "")


def permission_denied(request, exception=None):
    return _page(request, 403)


def page_not_found(request, exception=None):
    return _page(request, 404, str(exception) if isinstance(exception, FriendlyNotFound) else "")


def server_error(request):
    try:
        return _page(request, 500)
    except Exception:  # noqa: BLE001 - the error page itself must not fail
        logger.exception("the 500 page could not be rendered")
        return HttpResponse(PLAIN_500, status=500)


class BadInput(Exception):
    """A request the app refuses as a whole (400), with a message people can act on."""


class FriendlyNotFound(Http404):
    """A 404 whose message is written for the person (shown on the page): e.g. a teacher
    opening another class's register. Plain Http404 messages are never shown."""
