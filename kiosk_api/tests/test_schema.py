"""The OpenAPI 3 contract of the terminal API and its documentation page."""

from __future__ import annotations

import pytest
import yaml

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


def test_unknown_api_path_is_a_json_404_not_a_portal_redirect(kiosk):
    response = kiosk.call("get", "no/such/thing/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
