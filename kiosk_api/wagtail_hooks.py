"""Terminals in the Wagtail admin (the back office): a "Terminals" menu item for the staff who
may see them, and the admin URLs under /admin/kiosk/."""

from __future__ import annotations

from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from kiosk_api import admin_views

admin_urls = [
    path("", admin_views.TerminalListView.as_view(), name="terminals"),
    path("register/", admin_views.TerminalRegisterView.as_view(), name="register"),
    path("statistics/", admin_views.StatisticsView.as_view(), name="statistics"),
    path("statistics/export.csv", admin_views.statistics_csv, name="statistics_csv"),
    path("<slug:code>/", admin_views.TerminalDetailView.as_view(), name="terminal"),
    path("<slug:code>/do/<slug:action>/", admin_views.terminal_action, name="terminal_action"),
]


@hooks.register("register_admin_urls")
def register_kiosk_admin_urls() -> list:
    return [path("kiosk/", include((admin_urls, "kiosk_admin"), namespace="kiosk_admin"))]


class TerminalsMenuItem(MenuItem):
    def is_shown(self, request) -> bool:
        return admin_views.can_view(request.user)


@hooks.register("register_admin_menu_item")
def register_terminals_menu() -> MenuItem:
    return TerminalsMenuItem(_("Terminals"), reverse("kiosk_admin:terminals"),
                             name="kiosk-terminals", icon_name="desktop", order=420)
