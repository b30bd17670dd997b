"""URL map. Citizen-facing pages live under a language prefix (/fr/, /nl/, /en/, /de/);
machine endpoints (APIs, webhooks) and the back office do not."""

from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

from core import views as core_views

urlpatterns = [
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", core_views.healthz, name="healthz"),
    path("oidc/", include("mozilla_django_oidc.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularRedocView.as_view(url_name="api-schema",
                                                   template_name="kiosk_api/redoc.html"),
         name="api-docs"),
    path("api/kiosk/v1/", include("kiosk_api.urls")),
    path("api/", include("signing.api_urls")),
    path("webhooks/", include("payments.webhook_urls")),
]

urlpatterns += i18n_patterns(
    path("account/", include("identity.urls")),
    path("requests/", include("crm.urls")),
    path("pay/", include("payments.urls")),
    path("verify/", include("signing.urls")),
    path("", include("portal.urls")),
    path("", include(wagtail_urls)),
    prefix_default_language=True,
)

handler404 = "portal.views.page_not_found"
handler500 = "portal.views.server_error"

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns = static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT) + urlpatterns
