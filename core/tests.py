import pytest
from django.core.exceptions import ImproperlyConfigured

from core.registry import BasePlugin, Registry


def test_registry_registers_plugins_once_and_lists_choices():
    registry: Registry[BasePlugin] = Registry("things")

    @registry.register("alpha")
    class Alpha(BasePlugin):
        verbose_name = "Alpha"

    assert "alpha" in registry
    assert registry["alpha"].identifier == "alpha"
    assert registry.choices() == [("alpha", "Alpha")]
    with pytest.raises(ValueError, match="already registered"):
        registry.register("alpha")(Alpha)
    with pytest.raises(KeyError):
        registry["beta"]


def test_healthz_answers_when_database_is_up(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_production_settings_refuse_to_start_without_secret(monkeypatch):
    import importlib
    import sys

    monkeypatch.setenv("SECRET_KEY", "short")
    monkeypatch.setenv("ALLOWED_HOSTS", "guichet.example")
    monkeypatch.setenv("DATABASE_URL", "postgres://u@localhost/db")
    sys.modules.pop("config.settings.production", None)
    with pytest.raises(ImproperlyConfigured):
        importlib.import_module("config.settings.production")


@pytest.mark.parametrize("path", ["/api/no-such-endpoint/", "/webhooks/no-such-hook/",
                                  "/api/kiosk/v1/no-such-thing/"])
def test_unknown_machine_paths_answer_404_in_place_as_json(client, db, path):
    """Machine paths carry no language prefix: an unknown one is a 404 where it was asked,
    never a redirect to the portal's /fr/ tree."""
    response = client.get(path, HTTP_ACCEPT_LANGUAGE="nl")
    assert response.status_code == 404
    if path.startswith("/api/"):
        assert response.json()["code"] == "not_found"


def test_unknown_admin_path_is_not_sent_to_the_portal(client, db):
    response = client.get("/admin/no-such-screen/")
    assert not response.get("Location", "").startswith(("/fr/admin", "/nl/admin"))


def test_unknown_portal_path_still_gets_the_language_prefix(client, db):
    response = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="nl")
    assert response.status_code == 302
    assert response["Location"] == "/nl/no-such-page/"
