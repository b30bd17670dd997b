import uuid

import structlog
from django.middleware.locale import LocaleMiddleware as DjangoLocaleMiddleware
from django.utils.cache import patch_vary_headers
from django.utils.translation import get_language


class RequestIdMiddleware:
    """Binds a request id (from X-Request-ID or a new one) to every log line of the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex
        request.request_id = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


# Paths that are not citizen pages: they have no language prefix, so an unknown one must
# answer 404 where it is rather than be redirected to /fr/... by the locale middleware.
UNPREFIXED_PATHS = ("/admin/", "/api/", "/webhooks/", "/documents/", "/oidc/", "/i18n/",
                    "/static/", "/media/", "/healthz")


def is_unprefixed(path: str) -> bool:
    return path.startswith(UNPREFIXED_PATHS)


class LocaleMiddleware(DjangoLocaleMiddleware):
    """Django's locale middleware, minus its 404-to-/<lang>/ redirect on the machine and
    back-office paths (the portal's catch-all page route would match any of them)."""

    def process_response(self, request, response):
        if response.status_code == 404 and is_unprefixed(request.path_info):
            patch_vary_headers(response, ("Accept-Language",))
            response.headers.setdefault("Content-Language", get_language())
            return response
        return super().process_response(request, response)
