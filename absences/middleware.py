"""Parents see the portal in the language they chose; everyone else sees English.

Runs after ``tenants.middleware.MembershipMiddleware`` (``request.roles``). The parent's
choice is read once from their contact record and kept in the session (one query per
session, not per page); choosing again in the portal updates both.
"""

from django.utils import translation

from tenants.roles import Role

from . import language


class ParentLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        code = self._language(request)
        if not code:
            return self.get_response(request)
        request.LANGUAGE_CODE = code
        # For this request only: the thread's language is restored afterwards.
        with translation.override(code):
            response = self.get_response(request)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
        response.headers["Content-Language"] = code
        return response

    @staticmethod
    def _language(request) -> str | None:
        roles = getattr(request, "roles", None)
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None  # the sign-in page: whatever LocaleMiddleware chose
        if roles is None or roles - {Role.PARENT} or Role.PARENT not in roles:
            return language.DEFAULT  # staff pages are English
        code = request.session.get(language.SESSION_KEY)
        if code not in language.codes():
            code = language.for_user(user)
            request.session[language.SESSION_KEY] = code
        return code
