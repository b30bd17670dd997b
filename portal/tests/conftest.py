from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.db import transaction
from wagtail.models import Page

from portal.tests.factories import build_portal_tree


@pytest.fixture(autouse=True)
def _fresh_cache():
    # The page cache and the navigation fragments outlive a test's rolled-back rows.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True, scope="session")
def _quiet_cms_logs():
    # Wagtail and django-tasks log every page saved; thousands of lines per module.
    for name in ("wagtail", "django_tasks"):
        logging.getLogger(name).setLevel(logging.WARNING)


@pytest.fixture(scope="module")
def _module_tree(django_db_setup, django_db_blocker):
    """Built once per test module inside a transaction rolled back at the end of the
    module; each test runs in a savepoint inside it (pytest-django's `db`)."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield build_portal_tree()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def _pages(ids: dict[str, int]) -> dict[str, Page]:
    return {language: Page.objects.get(pk=pk).specific for language, pk in ids.items()}


@pytest.fixture
def portal_tree(_module_tree, db):
    from catalogue.models import Procedure

    pages = _module_tree["pages"]
    procedures = {name: Procedure.objects.get(pk=pk)
                  for name, pk in _module_tree["procedures"].items()}
    return SimpleNamespace(
        **procedures,
        homes=_pages(pages["home"]),
        public_space=_pages(pages["public_space"]),
        bulky_pages=_pages(pages["bulky"]),
        record_pages=_pages(pages["record"]),
        counter_pages=_pages(pages["counter"]),
        accessibility=_pages(pages["accessibility"]),
    )
