"""Purge the page cache on the CMS's own events.

Publishing is Wagtail's event, not one of our core flows, so its signals are the right hook
(page_published also fires for programmatic and scheduled publishing, which the admin-only
`after_publish_page` hook would miss). A procedure's fee or name is shown on its pages, so a
catalogue change purges too.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from wagtail.models import Page
from wagtail.signals import page_published, page_slug_changed, page_unpublished, post_page_move

from portal import cache as page_cache


def _purge(**kwargs: Any) -> None:
    page_cache.purge()


def _purge_if_page(sender: type, instance: Any, **kwargs: Any) -> None:
    if isinstance(instance, Page):
        page_cache.purge()


def connect() -> None:
    from wagtail.models import PageViewRestriction, Site

    from catalogue.models import Procedure

    page_published.connect(_purge, dispatch_uid="portal.purge.published")
    page_unpublished.connect(_purge, dispatch_uid="portal.purge.unpublished")
    post_page_move.connect(_purge, dispatch_uid="portal.purge.moved")
    page_slug_changed.connect(_purge, dispatch_uid="portal.purge.slug")
    post_save.connect(_purge_if_page, dispatch_uid="portal.purge.page_saved")
    post_delete.connect(_purge_if_page, dispatch_uid="portal.purge.page_deleted")
    post_save.connect(_purge, sender=Procedure, dispatch_uid="portal.purge.procedure_saved")
    post_delete.connect(_purge, sender=Procedure, dispatch_uid="portal.purge.procedure_deleted")
    # routes and view restrictions are remembered per generation too (portal.routing)
    for model in (PageViewRestriction, Site):
        post_save.connect(_purge, sender=model, dispatch_uid=f"portal.purge.{model.__name__}.s")
        post_delete.connect(_purge, sender=model,
                            dispatch_uid=f"portal.purge.{model.__name__}.d")
