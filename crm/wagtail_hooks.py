"""The CIRM in the Wagtail admin: a "Cases" menu (list, counter, statistics) for the staff
who work cases, and the admin URLs under /admin/crm/ and /admin/counter/."""

from __future__ import annotations

from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import Menu, MenuItem, SubmenuMenuItem

from crm import admin_views

case_urls = [
    path("cases/", admin_views.CaseListView.as_view(), name="case_list"),
    path("cases/bulk-assign/", admin_views.bulk_assign, name="bulk_assign"),
    path("queues/<slug:queue>/claim-next/", admin_views.claim_next, name="claim_next"),
    path("cases/<str:reference>/", admin_views.CaseDetailView.as_view(), name="case_detail"),
    path("cases/<str:reference>/files/<int:pk>/", admin_views.attachment_download,
         name="attachment_download"),
    path("cases/<str:reference>/do/<slug:action>/", admin_views.case_action,
         name="case_action"),
    path("stats/", admin_views.StatsView.as_view(), name="stats"),
    path("stats/export.csv", admin_views.stats_csv, name="stats_csv"),
]

counter_urls = [
    path("", admin_views.CounterView.as_view(), name="start"),
]


@hooks.register("register_admin_urls")
def register_crm_admin_urls() -> list:
    return [
        path("crm/", include((case_urls, "crm_admin"), namespace="crm_admin")),
        path("counter/", include((counter_urls, "crm_counter"), namespace="crm_counter")),
    ]


class CasesMenuItem(MenuItem):
    def is_shown(self, request) -> bool:
        return admin_views.may_view_cases(request)


class CounterMenuItem(MenuItem):
    def is_shown(self, request) -> bool:
        return admin_views.may_use_counter(request)


class StatsMenuItem(MenuItem):
    def is_shown(self, request) -> bool:
        return admin_views.may_see_stats(request)


@hooks.register("register_admin_menu_item")
def register_cases_menu() -> SubmenuMenuItem:
    menu = Menu(items=[
        CasesMenuItem(_("Case list"), reverse("crm_admin:case_list"), name="crm-cases",
                      icon_name="tasks", order=100),
        CounterMenuItem(_("Counter"), reverse("crm_counter:start"), name="crm-counter",
                        icon_name="user", order=200),
        StatsMenuItem(_("Statistics"), reverse("crm_admin:stats"), name="crm-stats",
                      icon_name="table", order=300),
    ])
    return SubmenuMenuItem(_("Cases"), menu, name="crm", icon_name="tasks", order=150)
