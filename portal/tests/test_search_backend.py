"""The OpenSearch backend is only reached where OPENSEARCH_URL is set; no OpenSearch server
runs here, so these tests build the backend and its mappings without a cluster (building
does not connect)."""

from __future__ import annotations

from wagtail.search.backends import get_search_backend

from catalogue.models import Procedure
from portal.models import ServicePage


def _backend():
    return get_search_backend("portal.search_backends.opensearch",
                              URLS=["http://127.0.0.1:9"], INDEX="guichet", TIMEOUT=1)


def test_opensearch_backend_is_selectable_by_dotted_path():
    from portal.search_backends.opensearch import PortalOpenSearchBackend

    assert isinstance(_backend(), PortalOpenSearchBackend)


def test_opensearch_index_names_use_the_configured_index_as_prefix():
    backend = _backend()
    assert backend.get_index_for_model(Procedure).name == "guichet_catalogue_procedure"
    assert backend.get_index_for_model(ServicePage).name == "guichet_wagtailcore_page"


def test_opensearch_mapping_of_procedures_has_every_language():
    backend = _backend()
    mapping = backend.mapping_class(Procedure).get_mapping()
    properties = mapping["properties"]
    for language in ("fr", "nl", "en", "de"):
        assert properties[f"name_{language}"]["type"] == "text"
    assert properties["keywords"]["type"] == "text"
    assert properties["active_filter"]["type"] == "boolean"
    document = backend.mapping_class(Procedure).get_document(Procedure(
        code="bulky-items", name_fr="Encombrants", name_nl="Grofvuil", name_en="Bulky",
        name_de="Sperrmüll", keywords="encombrants, grof huisvuil, bulky", category="public_space",
        department="cleanliness", workflow_kind="intervention", delivery="visit", pk=7))
    assert document["keywords"] == "encombrants, grof huisvuil, bulky"
    assert document["name_de"] == "Sperrmüll"
    assert document["code_filter"] == "bulky-items"


def test_opensearch_mapping_of_service_pages_includes_their_text():
    properties = _backend().mapping_class(ServicePage).get_mapping()["properties"]
    assert "portal_servicepage__intro" in properties
    assert "portal_servicepage__who_can_ask" in properties
    assert "portal_servicepage__procedure_id_filter" in properties
    assert "locale_id_filter" in properties


def test_opensearch_index_settings_fold_accents_and_keep_ngram_analysers():
    settings = _backend().settings["settings"]["analysis"]["analyzer"]
    assert settings["default"]["filter"] == ["lowercase", "asciifolding"]
    assert "edgengram_analyzer" in settings and "ngram_analyzer" in settings
