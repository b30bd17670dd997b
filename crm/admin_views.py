"""The back office of the CIRM on the Wagtail admin: the case list per queue, the case page
with its actions, counter mode and statistics.

Every read goes through crm.selectors (agents see their queues, supervisors their
department) and every action is one POST calling one crm service; a refused action comes
back as a message, never as a 500.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
)
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.decorators import method_decorator
from django.utils.formats import get_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.permission_policies.base import BasePermissionPolicy

from catalogue.constants import Channel
from catalogue.models import Procedure
from core.errors import DomainError, NotFound, ValidationFailed
from crm import forms as crm_forms
from crm import selectors, services
from crm.constants import SlaStatus
from crm.form_render import ProcedureStepForm, procedure_steps, summary_rows
from crm.models import Case
from crm.workflow import FINAL_STATES, CaseState, Role, next_states
from identity.constants import GROUP_CASE_SUPERVISOR, GROUP_COUNTER_AGENT

LIST_LIMIT = 50


def _optional(dotted: str) -> Any:
    """A function of another app when that app provides it (payments, signing, stats)."""
    module_name, _sep, attr = dotted.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return getattr(module, attr, None)


def is_case_worker(user: Any) -> bool:
    return selectors.queues_of(user).exists()


class CasePermissionPolicy(BasePermissionPolicy):
    """Wagtail's view of who may do what with cases. The rule itself lives in crm.selectors
    (queue members and department supervisors); this only answers Wagtail's questions with
    it, so the menu, the list and the case page agree. Cases are never deleted."""

    def user_has_permission(self, user: Any, action: str) -> bool:
        if action in ("view", "change"):
            return is_case_worker(user)
        if action == "add":
            return selectors.is_counter_agent(user)
        return False

    def users_with_any_permission(self, actions: Any) -> Any:
        from django.contrib.auth import get_user_model
        from django.db.models import Q

        users = get_user_model().objects.filter(is_active=True)
        condition = Q(pk__in=[])
        if {"view", "change"} & set(actions):
            condition |= (Q(crm_queues__isnull=False) | Q(crm_supervised_queues__isnull=False)
                          | Q(is_superuser=True))
        if "add" in actions:
            condition |= Q(groups__name=GROUP_COUNTER_AGENT) | Q(is_superuser=True)
        return users.filter(condition).distinct()

    def user_has_permission_for_instance(self, user: Any, action: str, instance: Case) -> bool:
        if action not in ("view", "change"):
            return False
        return bool(selectors.roles_on_case(user, instance) & {Role.AGENT, Role.SUPERVISOR})

    def instances_user_has_any_permission_for(self, user: Any, actions: Any) -> Any:
        if not {"view", "change"} & set(actions) or not is_case_worker(user):
            return Case.objects.none()
        if user.is_superuser:
            return Case.objects.all()
        return Case.objects.filter(queue__in=selectors.queues_of(user))


case_permission_policy = CasePermissionPolicy(Case)


def _per_request(request: HttpRequest, key: str, compute: Any) -> Any:
    """Answer a role question once per request: the sidebar menu and the view both ask."""
    cache = request.__dict__.setdefault("_crm_roles", {})
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def scope_for(request: HttpRequest) -> selectors.StaffScope:
    """The user's queues, roles and groups, read once per request (two queries) for the
    menu, the permission checks and the list alike."""
    return _per_request(request, "scope", lambda: selectors.staff_scope(request.user))


def may_view_cases(request: HttpRequest) -> bool:
    # the same rule as CasePermissionPolicy.user_has_permission(user, "view")
    return scope_for(request).works_cases


def may_use_counter(request: HttpRequest) -> bool:
    # the same rule as CasePermissionPolicy.user_has_permission(user, "add")
    return scope_for(request).is_counter_agent


def may_see_stats(request: HttpRequest) -> bool:
    return _stats_allowed(scope_for(request))


def _stats_allowed(scope: selectors.StaffScope) -> bool:
    return bool(scope.is_superuser or scope.supervised_departments
                or GROUP_CASE_SUPERVISOR in scope.groups)


def can_see_stats(user: Any) -> bool:
    """Supervisors (of any queue) and managers (superusers, the "Case supervisor" group)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return _stats_allowed(selectors.staff_scope(user))


def _staff_case_or_404(request: HttpRequest, reference: str) -> tuple[Case, set[Role]]:
    try:
        case = selectors.case_get_for_user(user=request.user, reference=reference)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    if not case_permission_policy.user_has_permission_for_instance(request.user, "view", case):
        raise Http404(_("This request does not exist or you may not see it."))
    return case, selectors.roles_on_case(request.user, case)


def _user_label(user: Any) -> str:
    return user.get_full_name() or user.get_username()


def _agents_of(queues: Any) -> list:
    from django.contrib.auth import get_user_model

    return list(get_user_model().objects.filter(crm_queues__in=queues).distinct()
                .only("id", "username", "first_name", "last_name")
                .order_by("last_name", "first_name", "username"))


# --- case list ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseRow:
    """One line of the case list, its texts ready: the page shows fifty, and resolving
    URLs, labels and dates per line in the template cost more than the query."""

    reference: str
    url: str
    escalated: bool
    procedure: str
    citizen: str
    channel: str
    state: str
    state_label: str
    assignee: str
    due: str
    sla_status: str
    sla_label: str
    paused: bool
    submitted: str


_FORMAT_PARTS: dict[str, Any] = {
    "d": lambda v: f"{v.day:02d}", "j": lambda v: str(v.day),
    "m": lambda v: f"{v.month:02d}", "n": lambda v: str(v.month),
    "Y": lambda v: str(v.year), "y": lambda v: f"{v.year % 100:02d}",
    "H": lambda v: f"{v.hour:02d}", "G": lambda v: str(v.hour),
    "i": lambda v: f"{v.minute:02d}", "s": lambda v: f"{v.second:02d}",
}


def _date_formatter(fmt: str) -> Any:
    """A function formatting like Django's `dateformat.format(value, fmt)`, made once for
    the hundred dates of a page: numeric formats (every short format of fr, nl and de) are
    joined from their parts; any other falls back to Django's formatter."""
    if any(ch.isalpha() and ch not in _FORMAT_PARTS for ch in fmt) or "\\" in fmt:
        return lambda value: dateformat.format(value, fmt)
    parts = [_FORMAT_PARTS.get(ch, lambda v, ch=ch: ch) for ch in fmt]
    return lambda value: "".join(part(value) for part in parts)


def case_rows(cases: list[Case]) -> list[CaseRow]:
    url = reverse("crm_admin:case_detail", args=["__reference__"])
    channels = {str(k): str(v) for k, v in Channel.choices}
    states = {str(k): str(v) for k, v in CaseState.choices}
    sla_labels = {str(k): str(v) for k, v in SlaStatus.choices}
    day = _date_formatter(get_format("SHORT_DATE_FORMAT"))
    moment = _date_formatter(get_format("SHORT_DATETIME_FORMAT"))
    rows = []
    for case in cases:
        assignee = case.assignee
        rows.append(CaseRow(
            reference=case.reference,
            url=url.replace("__reference__", quote(case.reference, safe="")),
            escalated=case.escalated,
            procedure=case.procedure.name,
            citizen=f"{case.person.last_name} {case.person.first_names}",
            channel=channels.get(case.channel, case.channel),
            state=case.state,
            state_label=states.get(case.state, case.state),
            assignee=(assignee.get_full_name() or assignee.get_username()) if assignee else "",
            due=day(timezone.localtime(case.sla_due_at)) if case.sla_due_at else "",
            sla_status=case.sla_status,
            sla_label=sla_labels.get(case.sla_status, "") if case.sla_status else "",
            paused=case.sla_paused_at is not None,
            submitted=moment(timezone.localtime(case.created_at))))
    return rows


class CaseListView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "crm/admin/case_list.html"
    page_title = gettext_lazy("Cases")
    header_icon = "tasks"
    _breadcrumbs = None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not may_view_cases(request):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self) -> list:
        return [*self.breadcrumbs_items, {"url": "", "label": self.page_title}]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user = self.request.user
        scope = scope_for(self.request)
        queues = list(scope.queues)
        agents = _agents_of(scope.queue_ids)
        departments = {q.department for q in queues}
        procedures = (Procedure.objects.filter(department__in=departments)
                      if not user.is_superuser else Procedure.objects.all())
        procedures = procedures.only("id", "code", "name_fr", "name_nl", "name_en", "name_de")
        form = crm_forms.CaseFilterForm(
            self.request.GET or None, queues=queues, states=CaseState.choices,
            procedures=procedures.order_by("code"), agents=agents, me=user)
        filters = form.filters() if form.is_bound else {}
        if filters.get("sla") == crm_forms.SlaFilter.PAST:
            filters["sla"] = "overdue"
        after = self.request.GET.get("after") or None
        try:
            page = selectors.case_list_page(user=user, filters=filters, after=after,
                                            limit=LIST_LIMIT, queue_ids=scope.queue_ids)
        except ValidationFailed as exc:
            messages.error(self.request, str(exc.message))
            page = selectors.case_list_page(user=user, filters={}, limit=LIST_LIMIT,
                                            queue_ids=scope.queue_ids)
        query = {k: v for k, v in self.request.GET.items() if k != "after" and v}
        context.update({
            "filter_form": form,
            "page": page,
            "rows": case_rows(page.items),
            "queues": queues,
            "agents": agents,
            "next_url": ("?" + urlencode({**query, "after": page.next_cursor})
                         if page.next_cursor else ""),
            "first_url": "?" + urlencode(query) if after else "",
            "is_filtering": bool(filters),
            "final_states": [s.value for s in FINAL_STATES],
        })
        return context


@require_POST
def claim_next(request: HttpRequest, queue: str) -> HttpResponse:
    target = selectors.queues_of(request.user).filter(code=queue).first()
    if target is None:
        raise Http404(_("Unknown queue."))
    try:
        case = services.case_claim_next(queue=target, agent=request.user)
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("crm_admin:case_list")
    if case is None:
        messages.info(request, _("No request is waiting in “%(queue)s”.") % {"queue": target})
        return redirect("crm_admin:case_list")
    messages.success(request, _("You took %(reference)s.") % {"reference": case.reference})
    return redirect("crm_admin:case_detail", case.reference)


@require_POST
def bulk_assign(request: HttpRequest) -> HttpResponse:
    """Assign several cases at once (to me, or to a colleague of my queues)."""
    references = request.POST.getlist("reference")[:LIST_LIMIT]
    agent_value = request.POST.get("agent", "me")
    queues = list(selectors.queues_of(request.user))
    if agent_value == "me":
        agent = request.user
    else:
        agent = next((a for a in _agents_of(queues) if str(a.pk) == agent_value), None)
    if not references or agent is None:
        messages.error(request, _("Choose at least one request and an agent."))
        return redirect(request.POST.get("next") or reverse("crm_admin:case_list"))
    done, refused = [], []
    for case in selectors.cases_visible_to(request.user).filter(reference__in=references):
        try:
            services.case_assign(case=case, agent=agent, actor=request.user)
        except DomainError as exc:
            refused.append(f"{case.reference}: {exc.message}")
        else:
            done.append(case.reference)
    if done:
        messages.success(request, _("%(count)s request(s) assigned to %(agent)s.")
                         % {"count": len(done), "agent": _user_label(agent)})
    for line in refused:
        messages.error(request, line)
    back = request.POST.get("next", "")
    if not back.startswith("/admin/"):
        back = reverse("crm_admin:case_list")
    return HttpResponseRedirect(back)


# --- case page -------------------------------------------------------------------------


ACTIONS: dict[str, tuple[type, str]] = {
    "request_information": (crm_forms.RequestInformationForm,
                            gettext_lazy("The citizen is asked for information.")),
    "approve": (crm_forms.ApproveForm, gettext_lazy("The request is approved.")),
    "reject": (crm_forms.RejectForm, gettext_lazy("The request is rejected.")),
    "escalate": (crm_forms.EscalateForm, gettext_lazy("The request is escalated.")),
    "cancel": (crm_forms.CancelCaseForm, gettext_lazy("The request is cancelled.")),
    "note": (crm_forms.NoteForm, gettext_lazy("The note is added.")),
    "message": (crm_forms.MessageForm, gettext_lazy("The message is sent to the citizen.")),
    "claim": (None, gettext_lazy("You took this request.")),
    "assign": (None, gettext_lazy("The request is reassigned.")),
    "release": (None, gettext_lazy("The request is back in the queue.")),
    "close": (crm_forms.ApproveForm, gettext_lazy("The request is closed.")),
}


def allowed_actions(case: Case, roles: set[Role], user: Any) -> list[str]:
    """The buttons to show; the services check again (and have the last word)."""
    if case.is_final:
        return ["note"]
    reachable = set(next_states(case.state, roles))
    handler = Role.SUPERVISOR in roles or case.assignee_id == user.pk
    actions = []
    if case.assignee_id is None:
        actions.append("claim")
    if handler:
        if CaseState.AWAITING_CITIZEN in reachable:
            actions.append("request_information")
        if CaseState.APPROVED in reachable and case.state != CaseState.SUBMITTED:
            actions.append("approve")
        if CaseState.REJECTED in reachable:
            actions.append("reject")
        if CaseState.CLOSED in reachable:
            actions.append("close")
    if Role.SUPERVISOR in roles or case.assignee_id == user.pk:
        actions.append("assign")
        if case.assignee_id is not None:
            actions.append("release")
    if not case.escalated:
        actions.append("escalate")
    if CaseState.CANCELLED in reachable:
        actions.append("cancel")
    actions += ["message", "note"]
    return actions


class CaseDetailView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "crm/admin/case_detail.html"
    header_icon = "doc-full"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        self.case, self.roles = _staff_case_or_404(request, kwargs["reference"])
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().get(request, *args, **kwargs)
        response.render()
        # The citizen's messages count as read once the page showing them is rendered.
        services.case_messages_mark_read(case=self.case, reader=request.user)
        return response

    def get_page_title(self) -> str:
        return self.case.reference

    def get_page_subtitle(self) -> str:
        return self.case.procedure.name

    def get_breadcrumbs_items(self) -> list:
        return [*self.breadcrumbs_items,
                {"url": reverse("crm_admin:case_list"), "label": _("Cases")},
                {"url": "", "label": self.case.reference}]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        case, user = self.case, self.request.user
        actions = allowed_actions(case, self.roles, user)
        forms: dict[str, Any] = kwargs.get("bound_forms") or {}
        action_forms = {}
        for name in actions:
            form_class = ACTIONS[name][0]
            if form_class is not None:
                action_forms[name] = forms.get(name) or form_class(prefix=name)
        if "assign" in actions:
            agents = (case.queue.members.order_by("last_name", "username")
                      if case.queue_id else [])
            action_forms["assign"] = forms.get("assign") or crm_forms.AssignForm(
                prefix="assign", agents=agents)
        payments_of_case = _optional("payments.selectors.payments_of_case")
        documents_of_case = _optional("signing.selectors.documents_of_case")
        rendered = procedure_steps(case.procedure)
        context.update({
            "case": case,
            "roles": sorted(str(r.label) for r in self.roles),
            "actions": actions,
            "action_forms": action_forms,
            "form_rows": summary_rows(rendered, case.data or {}),
            "extra_data": {k: v for k, v in (case.data or {}).items()
                           if k not in rendered.data_fields()},
            "timeline": selectors.case_timeline(case),
            "attachments": list(case.attachments.all()),
            "notes": list(case.notes.select_related("author")),
            "case_messages": list(case.messages.select_related("sender")),
            "payments": list(payments_of_case(case)) if payments_of_case else None,
            "documents": list(documents_of_case(case)) if documents_of_case else None,
            "now": timezone.now(),
        })
        return context


@require_POST
def case_action(request: HttpRequest, reference: str, action: str) -> HttpResponse:
    case, roles = _staff_case_or_404(request, reference)
    if action not in ACTIONS:
        raise Http404(_("Unknown action."))
    form_class, success = ACTIONS[action]
    user = request.user
    form = None
    if action == "assign":
        agents = case.queue.members.all() if case.queue_id else []
        form = crm_forms.AssignForm(request.POST, prefix="assign", agents=agents)
    elif form_class is not None:
        form = form_class(request.POST, prefix=action)
    if form is not None and not form.is_valid():
        # Show the case page again with this form's errors (and its values) in place.
        view = CaseDetailView()
        view.setup(request, reference=reference)
        view.case, view.roles = case, roles
        return view.render_to_response(view.get_context_data(bound_forms={action: form}),
                                       status=400)
    data = form.cleaned_data if form is not None else {}
    try:
        if action == "claim":
            services.case_claim(case=case, agent=user)
        elif action == "assign":
            services.case_assign(case=case, agent=data["agent"], actor=user)
        elif action == "release":
            services.case_assign(case=case, agent=None, actor=user)
        elif action == "request_information":
            services.case_request_information(case=case, agent=user, message=data["message"])
        elif action == "approve":
            services.case_approve(case=case, agent=user, note=data["note"])
        elif action == "close":
            services.case_close(case=case, actor=user, note=data["note"])
        elif action == "reject":
            services.case_reject(case=case, agent=user, reason=data["reason"])
        elif action == "escalate":
            services.case_escalate(case=case, actor=user, note=data["note"])
        elif action == "cancel":
            services.case_cancel(case=case, actor=user, reason=data["reason"])
        elif action == "note":
            services.case_add_note(case=case, author=user, body=data["body"])
        elif action == "message":
            services.case_send_message(case=case, sender=user, body=data["body"])
    except DomainError as exc:
        details = "; ".join(" ".join(str(m) for m in v) if isinstance(v, list | tuple)
                            else str(v) for v in (exc.details or {}).values())
        messages.error(request, f"{exc.message} {details}".strip())
    else:
        messages.success(request, str(success))
    return redirect("crm_admin:case_detail", case.reference)


def attachment_download(request: HttpRequest, reference: str, pk: int) -> HttpResponse:
    case, _roles = _staff_case_or_404(request, reference)
    attachment = case.attachments.filter(pk=pk).first()
    if attachment is None:
        raise Http404(_("Unknown file."))
    response = FileResponse(attachment.file.open("rb"), as_attachment=True,
                            filename=attachment.original_name,
                            content_type=attachment.content_type)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- counter mode ------------------------------------------------------------------------


COUNTER_CHANNEL = Channel.COUNTER


@method_decorator(never_cache, name="dispatch")
class CounterView(WagtailAdminTemplateMixin, TemplateView):
    """Requests made at the counter on behalf of a citizen.

    Three POSTs, no session: find the person in the register, choose the procedure, fill
    and send. The person travels only in the form (hidden field) and nothing about them is
    kept once the request is sent: the page redirects to an empty counter, responses are
    not cached, and the fields refuse autocomplete.
    """

    template_name = "crm/admin/counter.html"
    page_title = gettext_lazy("Counter")
    header_icon = "user"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not may_use_counter(request):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self) -> list:
        return [*self.breadcrumbs_items, {"url": "", "label": self.page_title}]

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.render_to_response(self.get_context_data(
            lookup_form=crm_forms.CounterLookupForm(), stage="lookup"))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        stage = request.POST.get("stage")
        if stage == "lookup":
            return self._lookup(request)
        person = self._person(request)
        if person is None:
            messages.error(request, _("Find the citizen first."))
            return redirect("crm_counter:start")
        procedures = Procedure.objects.offered_on(COUNTER_CHANNEL).order_by("category", "code")
        procedure = procedures.filter(code=request.POST.get("procedure", "")).first()
        if stage == "choose" or procedure is None:
            if stage != "choose":
                messages.error(request, _("Choose a procedure."))
            return self._render(stage="procedure", person=person, procedures=procedures)
        rendered = procedure_steps(procedure)
        if stage == "form":
            return self._render(stage="form", person=person, procedure=procedure,
                                form=self._form(rendered))
        if stage == "submit":
            return self._submit(request, person, procedure, rendered)
        return redirect("crm_counter:start")

    def _render(self, status: int = 200, **context: Any) -> HttpResponse:
        response = self.render_to_response(self.get_context_data(**context))
        response.status_code = status
        return response

    def _person(self, request: HttpRequest) -> Any:
        person_get = _optional("identity.selectors.person_get")
        try:
            person_id = int(request.POST.get("person", ""))
        except ValueError:
            return None
        if person_get is None:
            from identity.models import Person

            return Person.objects.filter(pk=person_id).first()
        try:
            return person_get(person_id)
        except DomainError:
            return None

    def _lookup(self, request: HttpRequest) -> HttpResponse:
        form = crm_forms.CounterLookupForm(request.POST)
        if not form.is_valid():
            return self._render(stage="lookup", lookup_form=form, status=400)
        from identity import selectors as identity_selectors

        number = form.cleaned_data.get("number")
        if number:
            found = identity_selectors.register_lookup(number)
            people = [found] if found else []
        else:
            people = list(identity_selectors.register_search(
                last_name=form.cleaned_data["last_name"],
                birth_date=form.cleaned_data["birth_date"]))
        people = [p for p in people if not p.deceased]
        if not people:
            messages.warning(request, _("Nobody found in the register. Check the number or "
                                        "the spelling; an LRA officer can register a person "
                                        "in the BIS register."))
            return self._render(stage="lookup", lookup_form=form)
        return self._render(stage="people", people=people,
                            lookup_form=crm_forms.CounterLookupForm())

    def _form(self, rendered: Any, data: Any = None, files: Any = None) -> list:
        forms = []
        for step in rendered.steps:
            forms.append(ProcedureStepForm(data, files, rendered=rendered, step=step))
        return forms

    def _submit(self, request: HttpRequest, person: Any, procedure: Procedure,
                rendered: Any) -> HttpResponse:
        forms = self._form(rendered, request.POST, request.FILES)
        valid = all([f.is_valid() for f in forms])  # noqa: C419 - validate every step
        if not valid:
            return self._render(stage="form", person=person, procedure=procedure, form=forms,
                                status=400)
        data: dict[str, Any] = {}
        attachments: list = []
        for form in forms:
            data.update(form.json_data())
            if form.step.is_confirmation:
                attachments = form.attachments()
        citizen_account = _optional("identity.services.citizen_account_for_person")
        try:
            requester = (citizen_account(person=person, actor=request.user)
                         if citizen_account else None)
            case = services.case_submit(
                procedure=procedure, requester=requester, person=person,
                channel=COUNTER_CHANNEL, data=data, attachments=attachments,
                acting_agent=request.user,
                language=(requester.preferred_language if requester else None))
        except ValidationFailed as exc:
            for name, errors in (exc.details or {}).items():
                placed = False
                for form in forms:
                    for target in (name, f"attachment__{name}"):
                        if target in form.fields:
                            for error in errors:
                                form.add_error(target, str(error))
                            placed = True
                            break
                if not placed:
                    for error in errors:
                        forms[-1].add_error(None, str(error))
            if not exc.details:
                forms[-1].add_error(None, str(exc.message))
            return self._render(stage="form", person=person, procedure=procedure, form=forms,
                                status=400)
        except DomainError as exc:
            forms[-1].add_error(None, str(exc.message))
            return self._render(stage="form", person=person, procedure=procedure, form=forms,
                                status=400)
        messages.success(request, _("Request %(reference)s is registered.")
                         % {"reference": case.reference}, extra_tags="counter-done")
        return HttpResponseRedirect(reverse("crm_counter:start") + "?"
                                    + urlencode({"done": case.reference}))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        done = self.request.GET.get("done", "")
        if done and self.request.method == "GET":
            context["done_case"] = selectors.cases_visible_to(self.request.user).filter(
                reference=done, created_by=self.request.user).only("reference", "state",
                                                                   "fee_cents").first()
        return context


# --- statistics --------------------------------------------------------------------------

CHANNEL_COLOURS = {Channel.WEB: "#0b4f8a", Channel.MOBILE: "#5b8fc7",
                   Channel.KIOSK: "#8a6100", Channel.COUNTER: "#6b6b6b"}


def stats_departments(user: Any) -> set[str] | None:
    """The departments whose figures `user` sees: all (None) for a superuser, else the
    departments they supervise."""
    return None if user.is_superuser else selectors.supervised_departments(user)


def stats_build(*, user: Any, start: dt.date, end: dt.date) -> dict[str, Any]:
    """The indicators of the city's e-counter plan (crm.stats) shaped for the page:
    requests per procedure, channel and month; the share made online; time to close."""
    from crm import stats

    departments = stats_departments(user)
    rows = stats.requests_per_month(start=start, end=end, departments=departments)
    closing = stats.time_to_close(start=start, end=end, departments=departments)
    codes = {r["procedure"] for r in rows} | {r["procedure"] for r in closing}
    names = {p.code: p.name for p in Procedure.objects.filter(code__in=codes)}
    channels = [c.value for c in Channel]
    months: dict[dt.date, dict[str, int]] = {}
    per_procedure: dict[str, dict[str, int]] = {}
    for row in rows:
        months.setdefault(row["month"], dict.fromkeys(channels, 0))[row["channel"]] += \
            row["count"]
        per_procedure.setdefault(row["procedure"], dict.fromkeys(channels, 0))[
            row["channel"]] += row["count"]
    online_channels = {str(c) for c in stats.ONLINE_CHANNELS}
    total = sum(sum(v.values()) for v in months.values())
    online = sum(n for v in months.values() for c, n in v.items() if c in online_channels)
    procedure_rows = []
    for code in sorted(per_procedure, key=lambda c: names.get(c, c)):
        counts = per_procedure[code]
        n = sum(counts.values())
        procedure_rows.append({
            "code": code, "name": names.get(code, code), "counts": [counts[c] for c in channels],
            "total": n,
            "online_share": sum(counts[c] for c in online_channels) / n if n else 0})
    close_rows = [{"code": r["procedure"], "name": names.get(r["procedure"], r["procedure"]),
                   "count": r["count"], "average": r["avg_days"], "median": r["median_days"],
                   "p90": r["p90_days"]} for r in closing]
    close_rows.sort(key=lambda r: r["name"])
    closed = sum(r["count"] for r in close_rows)
    month_rows = [{"month": m, "counts": [months[m][c] for c in channels],
                   "total": sum(months[m].values())} for m in sorted(months)]
    return {
        "start": start, "end": end,
        "channels": [(c, Channel(c).label, CHANNEL_COLOURS[c]) for c in channels],
        "online_labels": [str(Channel(c).label) for c in channels if c in online_channels],
        "month_rows": month_rows,
        "procedure_rows": procedure_rows,
        "close_rows": close_rows,
        "total": total,
        "online_share": online / total if total else None,
        "closed": closed,
        "close_average": (sum(r["average"] * r["count"] for r in close_rows) / closed
                          if closed else None),
        "month_chart": _month_chart(month_rows, channels),
        "close_chart": _close_chart(close_rows),
    }


def _month_chart(month_rows: list[dict], channels: list[str]) -> dict[str, Any]:
    """Stacked bars (one per month, one segment per channel) as SVG geometry."""
    width, height, left, bottom, top = 720, 260, 48, 40, 10
    peak = max((r["total"] for r in month_rows), default=0) or 1
    slot = min((width - left - 10) / max(len(month_rows), 1), 80)
    bar_w = slot * 0.7
    bars = []
    for index, row in enumerate(month_rows):
        x = left + index * slot + slot * 0.15
        y = height - bottom
        segments = []
        for channel, count in zip(channels, row["counts"], strict=True):
            h = (height - bottom - top) * count / peak
            y -= h
            if count:
                segments.append({"y": round(y, 1), "h": round(h, 1), "count": count,
                                 "colour": CHANNEL_COLOURS[channel],
                                 "label": str(Channel(channel).label)})
        bars.append({"x": round(x, 1), "w": round(bar_w, 1), "segments": segments,
                     "month": row["month"], "total": row["total"],
                     "label_x": round(x + bar_w / 2, 1)})
    step = max(1, -(-peak // 4))  # four whole-number steps at most
    ticks = [{"value": value,
              "y": round(height - bottom - (height - bottom - top) * value / peak, 1)}
             for value in range(0, peak + 1, step)]
    return {"width": width, "height": height, "bars": bars, "ticks": ticks, "left": left,
            "base": height - bottom}


def _close_chart(close_rows: list[dict]) -> dict[str, Any]:
    """Horizontal bars: median and 90th percentile of the days to close per procedure."""
    row_h, left, width = 34, 260, 720
    peak = max((r["p90"] or 0 for r in close_rows), default=0) or 1
    bars = []
    for index, row in enumerate(close_rows):
        y = 10 + index * row_h
        bars.append({"y": y, "name": row["name"][:40],
                     "median_w": round((width - left - 60) * (row["median"] or 0) / peak, 1),
                     "p90_w": round((width - left - 60) * (row["p90"] or 0) / peak, 1),
                     "median": row["median"], "p90": row["p90"]})
    return {"width": width, "height": 20 + len(close_rows) * row_h, "left": left, "bars": bars}


def stats_csv_rows(*, user: Any, start: dt.date, end: dt.date) -> list[list[Any]]:
    """Two tables in one file: requests per month, procedure and channel; time to close."""
    from crm import stats

    departments = stats_departments(user)
    monthly = stats.requests_per_month(start=start, end=end, departments=departments)
    closing = stats.time_to_close(start=start, end=end, departments=departments)
    codes = {r["procedure"] for r in monthly} | {r["procedure"] for r in closing}
    names = {p.code: p.name for p in Procedure.objects.filter(code__in=codes)}
    online = {str(c) for c in stats.ONLINE_CHANNELS}
    rows: list[list[Any]] = [["month", "procedure", "procedure_name", "channel", "requests",
                              "online"]]
    for row in monthly:
        rows.append([row["month"].strftime("%Y-%m"), row["procedure"],
                     names.get(row["procedure"], ""), row["channel"], row["count"],
                     "yes" if row["channel"] in online else "no"])
    rows.append([])
    rows.append(["procedure", "closed_requests", "days_to_close_average",
                 "days_to_close_median", "days_to_close_p90"])
    for row in closing:
        rows.append([row["procedure"], row["count"], f"{row['avg_days']:.2f}",
                     f"{row['median_days']:.2f}", f"{row['p90_days']:.2f}"])
    return rows


class StatsView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "crm/admin/stats.html"
    page_title = gettext_lazy("Statistics of requests")
    header_icon = "table"

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not may_see_stats(request):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self) -> list:
        return [*self.breadcrumbs_items, {"url": "", "label": self.page_title}]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        form = crm_forms.StatsPeriodForm(self.request.GET or None)
        start, end = form.period(today=timezone.localdate())
        if not form.is_bound:
            form = crm_forms.StatsPeriodForm(initial={"start": start, "end": end})
        context.update(stats_build(user=self.request.user, start=start, end=end))
        context["period_form"] = form
        context["csv_url"] = (reverse("crm_admin:stats_csv") + "?"
                              + urlencode({"start": start.isoformat(),
                                           "end": end.isoformat()}))
        return context


def stats_csv(request: HttpRequest) -> HttpResponse:
    if not can_see_stats(request.user):
        raise PermissionDenied
    form = crm_forms.StatsPeriodForm(request.GET or None)
    start, end = form.period(today=timezone.localdate())
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="requests-{start.isoformat()}-{end.isoformat()}.csv"')
    writer = csv.writer(response)
    for row in stats_csv_rows(user=request.user, start=start, end=end):
        writer.writerow(row)
    return response
