"""Middleware that applies to every response or refuses a request before any view sees it."""

from django.utils.cache import patch_cache_control

from .errors import BadInput, bad_request


class NoStoreMiddleware:
    """Nothing the app generates may be kept by a browser or a proxy: pages, PDFs, uploaded
    evidence and exports hold pupils' data, and a shared computer's back button or disk cache
    must not show them to the next person. Static files never reach this middleware
    (WhiteNoise answers them first) and keep their own caching."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.pop("Cache-Control", None)
        patch_cache_control(response, no_store=True, private=True)
        return response


class RejectNulMiddleware:
    """A NUL character (%00) in a query string or form field is a 400 with the app's page.

    PostgreSQL cannot store NUL in text, so such a value would otherwise fail deep inside a
    query (a 500) wherever a view passes a parameter on without a form. Uploaded files are
    not looked at here: the imports report NULs by line and field.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._has_nul(request.GET) or (request.method == "POST" and self._has_nul(request.POST)):
            return bad_request(request, BadInput(
                "A value you sent contains a NUL character (0x00), which cannot be stored. "
                "Remove it and try again."))
        return self.get_response(request)

    @staticmethod
    def _has_nul(query) -> bool:
        return any("\x00" in key or any("\x00" in v for v in query.getlist(key)) for key in query)
