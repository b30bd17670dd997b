"""Issued documents in the Wagtail admin (the back office): search and revocation."""

from __future__ import annotations

from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from signing import admin_views

document_urls = [
    path("", admin_views.DocumentListView.as_view(), name="document_list"),
    path("<int:pk>/revoke/", admin_views.revoke, name="revoke"),
]


@hooks.register("register_admin_urls")
def register_signing_admin_urls() -> list:
    return [path("documents-issued/", include((document_urls, "signing_admin"),
                                              namespace="signing_admin"))]


class DocumentsMenuItem(MenuItem):
    def is_shown(self, request) -> bool:
        return admin_views.may_view_documents(request)


@hooks.register("register_admin_menu_item")
def register_documents_menu() -> MenuItem:
    return DocumentsMenuItem(_("Issued documents"), reverse("signing_admin:document_list"),
                             name="signing-documents", icon_name="doc-full", order=160)
