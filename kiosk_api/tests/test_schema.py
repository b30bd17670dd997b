"""The OpenAPI 3 contract of the terminal API and its documentation page."""

from __future__ import annotations

import re

import pytest
import yaml
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_schema_documents_every_endpoint_with_terminal_auth_and_error_codes(client):
    response = client.get("/api/kiosk/v1/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    for path in ("/api/kiosk/v1/sessions/eid/", "/api/kiosk/v1/procedures/",
                 "/api/kiosk/v1/requests/", "/api/kiosk/v1/cases/{reference}/payment/",
                 "/api/kiosk/v1/documents/{code}/printed/", "/api/kiosk/v1/terminal/heartbeat/"):
        assert path in paths, path
    assert schema["components"]["securitySchemes"]["terminal"]["in"] == "header"
    submit = paths["/api/kiosk/v1/requests/"]["post"]
    assert {"400", "401", "403", "429"} <= set(submit["responses"])
    assert any(p["name"] == "X-Kiosk-Session" and p["in"] == "header"
               for p in submit["parameters"])
    assert "application/json" in submit["requestBody"]["content"]
    assert "multipart/form-data" not in submit["requestBody"]["content"]


def test_documentation_page_is_served(client):
    response = client.get("/api/kiosk/v1/docs/")
    assert response.status_code == 200
    assert b"/api/kiosk/v1/schema/" in response.content
    assert client.get("/api/schema/").status_code == 200  # the platform-wide schema too


@pytest.mark.parametrize("urlconf", [None, "kiosk_api.schema_urls"])
def test_schema_generation_has_no_warnings_or_errors(urlconf, tmp_path):
    """The platform-wide contract and the terminal one: no duplicate enum names, no view
    spectacular has to guess about, nothing of Wagtail's internal admin API. This is the
    check `manage.py check --deploy` runs in production as well."""
    from drf_spectacular.drainage import GENERATOR_STATS

    GENERATOR_STATS.reset()
    args = ["--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml")]
    call_command("spectacular", *args, *(["--urlconf", urlconf] if urlconf else []))
    assert not GENERATOR_STATS, str(GENERATOR_STATS)
    schema = yaml.safe_load((tmp_path / "schema.yaml").read_text())
    assert schema["paths"] and all(p.startswith("/api/") for p in schema["paths"])
    enums = [name for name in schema["components"]["schemas"] if name.endswith("Enum")]
    assert {"DeviceStatusEnum", "LanguageEnum", "AssuranceLevelEnum"} <= set(enums)
    assert not {"CardReaderEnum", "LanguagesEnum", "RequiredAssuranceLevelEnum"} & set(enums)


def _referenced_urls(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)


@pytest.mark.parametrize("page", ["/api/kiosk/v1/docs/", "/api/kiosk/v1/docs/swagger/",
                                  "/api/docs/"])
def test_documentation_pages_load_only_our_own_static_files(client, page):
    """Redoc and Swagger UI come from drf-spectacular-sidecar through our static files: no
    CDN, no web fonts, nothing fetched from another host at run time."""
    response = client.get(page)
    assert response.status_code == 200
    html = response.content.decode()
    assert "cdn.jsdelivr.net" not in html and "googleapis" not in html
    urls = _referenced_urls(html)
    assert urls, html
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        if url.startswith(settings.STATIC_URL):
            assert finders.find(url.removeprefix(settings.STATIC_URL)), url
    assert any(u.startswith(settings.STATIC_URL + "drf_spectacular_sidecar/") for u in urls)


def test_unknown_api_path_is_a_json_404_not_a_portal_redirect(kiosk):
    response = kiosk.call("get", "no/such/thing/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
