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
