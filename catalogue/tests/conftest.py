from __future__ import annotations

import copy

import pytest

from catalogue.models import Procedure
from catalogue.services import catalogue_load, catalogue_read


@pytest.fixture(scope="session")
def catalogue_file_data() -> dict:
    return catalogue_read()


@pytest.fixture
def catalogue_data(catalogue_file_data) -> dict:
    """A fresh copy of the bundled catalogue file, safe to alter in a test."""
    return copy.deepcopy(catalogue_file_data)


@pytest.fixture
def loaded_catalogue(db, catalogue_data) -> dict[str, Procedure]:
    catalogue_load(data=catalogue_data)
    return {p.code: p for p in Procedure.objects.all()}
