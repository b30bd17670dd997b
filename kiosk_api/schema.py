"""drf-spectacular hooks of the published API contracts.

The URL map also holds Wagtail's internal admin API (the page explorer's JSON), which is not
part of any contract we publish: introspecting it needs a request Wagtail builds itself and a
migrated database, so it would only add warnings (and errors in `check --deploy`, which
generates the schema in a container that may not be migrated yet). Only our own API prefix is
documented.
"""

from __future__ import annotations

from typing import Any

PUBLISHED_PREFIX = "/api/"


def published_api_only(endpoints: list[tuple[str, str, str, Any]],
                       **kwargs: Any) -> list[tuple[str, str, str, Any]]:
    """PREPROCESSING_HOOKS entry: keep the endpoints under /api/, drop everything else."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith(PUBLISHED_PREFIX)]
