from django.utils.cache import patch_cache_control


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
