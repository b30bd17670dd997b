"""Payments in the Wagtail admin: the URLs the case page links to (refund, counter payment,
receipt) and a "Payments report" menu entry for supervisors."""

from __future__ import annotations

from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem

from payments import admin_views, services

urls = [
    path("cases/<str:reference>/", admin_views.case_payments, name="case_payments"),
    path("cases/<str:reference>/counter/", admin_views.counter_payment, name="counter"),
    path("<int:payment_id>/refund/", admin_views.refund, name="refund"),
    path("<int:payment_id>/receipt/", admin_views.receipt, name="receipt"),
    path("report/", admin_views.report, name="report"),
    path("report/export.csv", admin_views.report_csv, name="report_csv"),
]


@hooks.register("register_admin_urls")
def register_payments_admin_urls() -> list:
    return [path("payments/", include((urls, "payments_admin"), namespace="payments_admin"))]


class ReportMenuItem(MenuItem):
    def is_shown(self, request) -> bool:
        return services.can_view_report(request.user)


@hooks.register("register_admin_menu_item")
def register_payments_menu() -> MenuItem:
    return ReportMenuItem(_("Payments report"), reverse("payments_admin:report"),
                          name="payments-report", icon_name="table", order=160)
