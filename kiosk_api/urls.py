from django.urls import path, re_path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)

from kiosk_api.api import views

app_name = "kiosk_api"
DOCS_TEMPLATE = "kiosk_api/redoc.html"
urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(urlconf="kiosk_api.schema_urls",
                                               custom_settings={"TITLE": "Guichet terminal API"}),
         name="schema"),
    # Documentation pages: Redoc and Swagger UI from our static files (sidecar), no CDN.
    path("docs/", SpectacularRedocView.as_view(url_name="kiosk_api:schema",
                                               template_name=DOCS_TEMPLATE), name="docs"),
    path("docs/swagger/", SpectacularSwaggerView.as_view(url_name="kiosk_api:schema"),
         name="docs_swagger"),
    path("terminal/", views.TerminalView.as_view(), name="terminal"),
    path("terminal/heartbeat/", views.HeartbeatView.as_view(), name="heartbeat"),
    path("sessions/nonce/", views.NonceView.as_view(), name="nonce"),
    path("sessions/eid/", views.EidSessionView.as_view(), name="session_eid"),
    path("sessions/digital-key/start/", views.DigitalKeyStartView.as_view(),
         name="session_digital_key_start"),
    path("sessions/digital-key/", views.DigitalKeySessionView.as_view(),
         name="session_digital_key"),
    path("session/", views.CurrentSessionView.as_view(), name="session"),
    path("procedures/", views.ProcedureListView.as_view(), name="procedures"),
    path("procedures/<slug:code>/", views.ProcedureDetailView.as_view(), name="procedure"),
    path("requests/", views.RequestCreateView.as_view(), name="requests"),
    path("cases/", views.CaseListView.as_view(), name="cases"),
    path("cases/<str:reference>/", views.CaseDetailView.as_view(), name="case"),
    path("cases/<str:reference>/payment/", views.CasePaymentView.as_view(), name="case_payment"),
    path("payments/connection-token/", views.ConnectionTokenView.as_view(),
         name="connection_token"),
    path("documents/", views.DocumentListView.as_view(), name="documents"),
    path("documents/<str:code>/pdf/", views.DocumentPdfView.as_view(), name="document_pdf"),
    path("documents/<str:code>/printed/", views.DocumentPrintedView.as_view(),
         name="document_printed"),
    # Anything else under the API prefix: a JSON 404 with a code, never the portal's page.
    re_path(r"^[\s\S]*$", views.not_found, name="not_found"),
]
