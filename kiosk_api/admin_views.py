"""Back-office screens for terminals (Wagtail admin): register a terminal and see its
credential once, the list with last heartbeats and the silent ones, a terminal's page with
its events and actions, and the statistics per terminal."""

from __future__ import annotations

import csv
import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from kiosk_api import selectors, services
from kiosk_api.constants import Branch
from kiosk_api.forms import (
    PeriodForm,
    TerminalDetailsForm,
    TerminalDisableForm,
    TerminalRegisterForm,
)
from kiosk_api.models import Terminal

PAGE_SIZE = 50


def can_view(user: Any) -> bool:
    return user.is_active and user.has_perm("kiosk_api.view_terminal")


def can_manage(user: Any) -> bool:
    return user.is_active and user.has_perm("kiosk_api.change_terminal")


def can_register(user: Any) -> bool:
    return user.is_active and user.has_perm("kiosk_api.add_terminal")


def can_see_statistics(user: Any) -> bool:
    return user.is_active and user.has_perm("kiosk_api.view_terminal_statistics")


class CredentialShownView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "kiosk_api/admin/credential.html"
    header_icon = "key"

    def get_page_title(self) -> str:
        return _("Credential of terminal %(code)s") % {"code": self.terminal.code}

    def get_breadcrumbs_items(self) -> list:
        return [*self.breadcrumbs_items,
                {"url": reverse("kiosk_admin:terminals"), "label": _("Terminals")},
                {"url": reverse("kiosk_admin:terminal", args=[self.terminal.code]),
                 "label": self.terminal.code},
                {"url": "", "label": _("Credential")}]


def _secret_page(request: HttpRequest, *, terminal: Terminal,
                 issued: services.IssuedCredential) -> HttpResponse:
    """The credential, shown in this one answer and never again (not cached anywhere)."""
    view = CredentialShownView()
    view.setup(request)
    view.terminal = terminal
    context = view.get_context_data(terminal=terminal, authorization=issued.authorization,
                                    key_id=issued.credential.key_id)
    response = view.render_to_response(context)
    response["Cache-Control"] = "no-store"
    return response


class TerminalListView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "kiosk_api/admin/terminal_list.html"
    page_title = gettext_lazy("Terminals")
    header_icon = "desktop"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_view(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self) -> list:
        return [*self.breadcrumbs_items, {"url": "", "label": self.page_title}]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        since = selectors.silent_since()
        terminals = selectors.terminals_overview()
        silent_only = self.request.GET.get("silent") == "1"
        if silent_only:
            terminals = selectors.silent_terminals(since=since)
        page = Paginator(terminals, PAGE_SIZE).get_page(self.request.GET.get("p"))
        for terminal in page:
            terminal.silent = selectors.is_silent(terminal, since=since)
        context.update({
            "page": page, "silent_only": silent_only, "since": since,
            "silent_count": selectors.silent_terminals(since=since).count(),
            "can_register": can_register(self.request.user),
            "can_see_statistics": can_see_statistics(self.request.user),
        })
        return context


class TerminalRegisterView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "kiosk_api/admin/terminal_register.html"
    page_title = gettext_lazy("Register a terminal")
    header_icon = "desktop"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_register(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self) -> list:
        return [*self.breadcrumbs_items,
                {"url": reverse("kiosk_admin:terminals"), "label": _("Terminals")},
                {"url": "", "label": self.page_title}]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.setdefault("form", TerminalRegisterForm())
        return context

    def post(self, request: HttpRequest) -> HttpResponse:
        form = TerminalRegisterForm(request.POST)
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(form=form))
        terminal, issued = services.terminal_register(
            code=form.cleaned_data["code"], branch=form.cleaned_data["branch"],
            location=form.cleaned_data["location"],
            stripe_location=form.cleaned_data["stripe_location"], actor=request.user)
        return _secret_page(request, terminal=terminal, issued=issued)


class TerminalDetailView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "kiosk_api/admin/terminal_detail.html"
    header_icon = "desktop"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_view(request.user):
            raise PermissionDenied
        self.terminal = get_object_or_404(Terminal, code=kwargs["code"])
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self) -> str:
        return _("Terminal %(code)s") % {"code": self.terminal.code}

    def get_breadcrumbs_items(self) -> list:
        return [*self.breadcrumbs_items,
                {"url": reverse("kiosk_admin:terminals"), "label": _("Terminals")},
                {"url": "", "label": self.terminal.code}]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update({
            "terminal": self.terminal,
            "silent": selectors.is_silent(self.terminal),
            "heartbeats": self.terminal.heartbeats.order_by("-received_at")[:20],
            "events": _with_changes(self.terminal.events.select_related("actor")[:30]),
            "credentials": self.terminal.credentials.order_by("-created_at")[:10],
            "disable_form": TerminalDisableForm(),
            "details_form": TerminalDetailsForm(initial={
                "branch": self.terminal.branch, "location": self.terminal.location,
                "stripe_location": self.terminal.stripe_location}),
            "can_manage": can_manage(self.request.user),
        })
        return context


def _with_changes(events: Any) -> list:
    """The events, each changed detail as a line "label: old → new" (`change_lines`)."""
    fields = TerminalDetailsForm.base_fields
    branches = dict(Branch.choices)
    events = list(events)
    for event in events:
        lines = []
        for name, (old, new) in (event.details or {}).get("changes", {}).items():
            if name == "branch":
                old, new = branches.get(old, old), branches.get(new, new)
            label = fields[name].label if name in fields else name
            lines.append(f"{label}: {old or '—'} → {new or '—'}")
        event.change_lines = lines
    return events


@require_POST
def terminal_action(request: HttpRequest, code: str, action: str) -> HttpResponse:
    if not can_manage(request.user):
        raise PermissionDenied
    terminal = get_object_or_404(Terminal, code=code)
    detail = reverse("kiosk_admin:terminal", args=[terminal.code])
    if action == "disable":
        form = TerminalDisableForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Give a reason to disable the terminal."))
            return redirect(detail)
        services.terminal_disable(terminal=terminal, actor=request.user,
                                  reason=form.cleaned_data["reason"])
        messages.success(request, _("Terminal %(code)s is disabled: its next call is refused.")
                         % {"code": terminal.code})
    elif action == "details":
        form = TerminalDetailsForm(request.POST)
        if not form.is_valid():
            errors = [str(e) for field_errors in form.errors.values() for e in field_errors]
            messages.error(request, _("The details were not saved: %(errors)s")
                           % {"errors": " ".join(errors)})
            return redirect(detail)
        services.terminal_update(terminal=terminal, actor=request.user, **form.cleaned_data)
        messages.success(request, _("The details of terminal %(code)s are saved.")
                         % {"code": terminal.code})
    elif action == "enable":
        services.terminal_enable(terminal=terminal, actor=request.user)
        messages.success(request, _("Terminal %(code)s is active again.") % {"code": terminal.code})
    elif action == "credential":
        issued = services.terminal_credential_issue(terminal=terminal, actor=request.user)
        return _secret_page(request, terminal=terminal, issued=issued)
    else:
        raise PermissionDenied
    return redirect(detail)


def _period(request: HttpRequest) -> tuple[PeriodForm, dt.date, dt.date, dt.datetime,
                                           dt.datetime]:
    form = PeriodForm(request.GET or None)
    start, end = form.period(today=timezone.localdate())
    tz = timezone.get_current_timezone()
    start_at = dt.datetime.combine(start, dt.time.min, tzinfo=tz)
    end_at = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return form, start, end, start_at, end_at


class StatisticsView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "kiosk_api/admin/statistics.html"
    page_title = gettext_lazy("Terminal statistics")
    header_icon = "table"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_see_statistics(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self) -> list:
        return [*self.breadcrumbs_items,
                {"url": reverse("kiosk_admin:terminals"), "label": _("Terminals")},
                {"url": "", "label": self.page_title}]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        form, start, end, start_at, end_at = _period(self.request)
        rows = selectors.terminal_statistics(start=start_at, end=end_at)
        context.update({
            "form": form, "start": start, "end": end, "rows": rows,
            "totals": {key: sum(r[key] for r in rows)
                       for key in ("requests_started", "documents_delivered", "sessions")},
            "csv_url": reverse("kiosk_admin:statistics_csv") + "?" + urlencode(
                {"start": start.isoformat(), "end": end.isoformat()}),
        })
        return context


def statistics_csv(request: HttpRequest) -> HttpResponse:
    if not can_see_statistics(request.user):
        raise PermissionDenied
    _form, start, end, start_at, end_at = _period(request)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="terminals-{start.isoformat()}-{end.isoformat()}.csv"')
    writer = csv.writer(response)
    writer.writerow([_("Terminal"), _("Branch"), _("Requests started"),
                     _("Documents delivered"), _("Citizen sessions")])
    for row in selectors.terminal_statistics(start=start_at, end=end_at):
        terminal = row["terminal"]
        writer.writerow([terminal.code, terminal.get_branch_display(), row["requests_started"],
                         row["documents_delivered"], row["sessions"]])
    return response
