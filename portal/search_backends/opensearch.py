"""OpenSearch for the portal's search, on top of Wagtail's OpenSearch 3 backend
(wagtail.search.backends.opensearch3, itself django-modelsearch over opensearch-py).

What we add: the index name from settings ("INDEX" becomes the index prefix, so several
deployments can share a cluster), and analysers that fold accents and case, so "Rückzahlung",
"recu" and "reçu" match what citizens type on a terminal keyboard without accents.
Selected when OPENSEARCH_URL is set (config/settings/base.py).
"""

from __future__ import annotations

from typing import Any

from wagtail.search.backends.opensearch3 import (
    OpenSearch3AutocompleteQueryCompiler,
    OpenSearch3Index,
    OpenSearch3Mapping,
    OpenSearch3SearchBackend,
    OpenSearch3SearchQueryCompiler,
    OpenSearch3SearchResults,
)

# Merged into the backend's index settings: the default analyser of full-text fields gets
# lower-casing and ASCII folding (the n-gram analysers of autocomplete already fold).
FOLDING_SETTINGS: dict[str, Any] = {
    "settings": {
        "analysis": {
            "analyzer": {
                "default": {
                    "type": "custom",
                    "tokenizer": "standard",
                    "filter": ["lowercase", "asciifolding"],
                },
            }
        }
    }
}


class PortalOpenSearchMapping(OpenSearch3Mapping):
    pass


class PortalOpenSearchIndex(OpenSearch3Index):
    pass


class PortalOpenSearchQueryCompiler(OpenSearch3SearchQueryCompiler):
    mapping_class = PortalOpenSearchMapping


class PortalOpenSearchAutocompleteQueryCompiler(OpenSearch3AutocompleteQueryCompiler):
    mapping_class = PortalOpenSearchMapping


class PortalOpenSearchBackend(OpenSearch3SearchBackend):
    mapping_class = PortalOpenSearchMapping
    index_class = PortalOpenSearchIndex
    query_compiler_class = PortalOpenSearchQueryCompiler
    autocomplete_query_compiler_class = PortalOpenSearchAutocompleteQueryCompiler
    results_class = OpenSearch3SearchResults

    def __init__(self, params: dict[str, Any]) -> None:
        params = dict(params)
        index = params.pop("INDEX", "")
        if index and "INDEX_PREFIX" not in params:
            params["INDEX_PREFIX"] = f"{index}_"
        index_settings = params.pop("INDEX_SETTINGS", {}) or {}
        params["INDEX_SETTINGS"] = _deep_merge(FOLDING_SETTINGS, index_settings)
        super().__init__(params)


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


SearchBackend = PortalOpenSearchBackend
