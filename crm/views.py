"""The citizen's side of the CIRM: request forms rendered from the catalogue (multi-step, with
drafts), "my requests", and the page of one request (timeline, messages, documents).

Thin views: parse the request, call one crm service or selector, render. Permission on a case
is the selector's business (case_get_for_user raises NotFound for anyone else's case, which
we answer with a 404 so a reference cannot be probed).
"""

from __future__ import annotations

import importlib
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from catalogue.models import Procedure
from core.errors import DomainError, NotFound, ValidationFailed
from core.i18n import active_language
from crm import selectors, services
from crm.form_render import (
    ProcedureStepForm,
    RenderedProcedureForm,
    procedure_steps,
    step_error_map,
    summary_rows,
)
from crm.forms import CancelForm, CitizenMessageForm
from crm.models import CaseDraft
from crm.workflow import CaseState, Role, next_states
from identity.selectors import assurance_level_of

CHANNEL = "web"
MY_REQUESTS_PER_PAGE = 20


def _optional(dotted: str) -> Any:
    """A function of another app when that app provides it, else None (the page then
    shows no payments / documents rather than failing)."""
    module_name, _sep, attr = dotted.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return getattr(module, attr, None)


def _documents_of_case(case: Any) -> list:
    documents_of_case = _optional("signing.selectors.documents_of_case")
    return list(documents_of_case(case)) if documents_of_case else []


def _login_url(request: HttpRequest) -> str:
    try:
        return reverse("identity:login")
    except NoReverseMatch:
        return settings.LOGIN_URL if "/" in str(settings.LOGIN_URL) else "/"


def _procedure_or_404(code: str) -> Procedure:
    procedure = Procedure.objects.offered_on(CHANNEL).filter(code=code).first()
    if procedure is None:
        raise Http404(_("This procedure does not exist or cannot be requested online."))
    return procedure


def _step_number(value: Any, rendered: RenderedProcedureForm) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return 1
    return max(1, min(number, rendered.count))


# --- request forms ---------------------------------------------------------------------


def procedure_start(request: HttpRequest, code: str) -> HttpResponse:
    """The request form of one procedure, one step at a time, kept as a draft."""
    procedure = _procedure_or_404(code)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), _login_url(request))
    level = assurance_level_of(request)
    if level < procedure.required_assurance_level:
        return render(request, "crm/assurance_required.html", {
            "procedure": procedure, "level": level,
            "login_url": _login_url(request) + "?" + urlencode({
                "next": request.get_full_path(),
                "level": int(procedure.required_assurance_level)}),
        }, status=403)

    rendered = procedure_steps(procedure)
    if request.method == "GET" and request.GET.get("fresh"):
        services.case_draft_discard(requester=request.user, procedure=procedure)
        return redirect("crm:procedure_start", code)
    draft = selectors.case_draft_get(requester=request.user, procedure=procedure)
    data: dict[str, Any] = dict(draft.data) if draft else {}

    if request.method != "POST":
        number = _step_number(request.GET.get("step") or (draft.step if draft else 1), rendered)
        step = rendered.step(number)
        form = ProcedureStepForm(rendered=rendered, step=step, initial=data)
        return _render_step(request, procedure, rendered, step, form, data, draft)

    step = rendered.step(_step_number(request.POST.get("step"), rendered))
    form = ProcedureStepForm(request.POST, request.FILES, rendered=rendered, step=step,
                             initial=data)
    action = request.POST.get("action", "next")
    valid = form.is_valid()
    # Keep every valid answer of this step, even when going back or when another is wrong.
    for name in step.fields:
        data.pop(name, None)
    data.update(form.json_data())

    if action == "previous":
        number = max(1, step.number - 1)
        services.case_draft_save(requester=request.user, procedure=procedure, data=data,
                            step=number)
        return redirect(_step_url(code, number))
    if not valid:
        draft = services.case_draft_save(requester=request.user, procedure=procedure, data=data,
                                    step=step.number)
        return _render_step(request, procedure, rendered, step, form, data, draft, status=400)
    if action == "save":
        services.case_draft_save(requester=request.user, procedure=procedure, data=data,
                            step=step.number)
        messages.success(request, _("Your draft is saved. You can continue it later from "
                                    "“My requests”."))
        return redirect("crm:my_requests")
    if not step.is_confirmation:
        number = step.number + 1
        services.case_draft_save(requester=request.user, procedure=procedure, data=data,
                            step=number)
        return redirect(_step_url(code, number))

    # Confirmation: the one call that makes the request.
    try:
        case = services.case_submit(
            procedure=procedure, requester=request.user, channel=CHANNEL,
            data={k: v for k, v in data.items() if k in rendered.data_fields()},
            attachments=form.attachments(), language=active_language(),
            assurance_level=level)
    except ValidationFailed as exc:
        details = {str(k): [str(m) for m in (v if isinstance(v, list | tuple) else [v])]
                   for k, v in (exc.details or {}).items()}
        if not details:
            form.add_error(None, str(exc.message))
        other_steps = {}
        for number, names in step_error_map(rendered, details).items():
            if number == step.number:
                for name in names:
                    target = _form_field_for(form, name)
                    for message in details[name]:
                        form.add_error(target, message)
            else:
                other_steps[number] = names
        for number, names in other_steps.items():
            form.add_error(None, _("Step %(number)s has an error: %(fields)s") % {
                "number": number,
                "fields": "; ".join(f"{_field_label(rendered, n)}: {' '.join(details[n])}"
                                    for n in names)})
        return _render_step(request, procedure, rendered, step, form, data, draft, status=400,
                            error_steps=sorted(other_steps))
    except DomainError as exc:
        form.add_error(None, str(exc.message))
        return _render_step(request, procedure, rendered, step, form, data, draft, status=400)
    services.case_draft_discard(requester=request.user, procedure=procedure)
    services.case_draft_discard(requester=request.user, procedure=procedure)
    return redirect("crm:confirmation", case.reference)


def _form_field_for(form: ProcedureStepForm, name: str) -> str | None:
    if name in form.fields:
        return name
    attachment = f"attachment__{name}"
    return attachment if attachment in form.fields else None


def _field_label(rendered: RenderedProcedureForm, name: str) -> str:
    from catalogue.forms_schema import field_label

    return field_label(rendered.schema, name)


def _step_url(code: str, number: int) -> str:
    return reverse("crm:procedure_start", args=[code]) + f"?step={number}"


def _render_step(request: HttpRequest, procedure: Procedure, rendered: RenderedProcedureForm,
                 step: Any, form: ProcedureStepForm, data: dict, draft: Any, *,
                 status: int = 200, error_steps: list[int] | None = None) -> HttpResponse:
    return render(request, "crm/procedure_form.html", {
        "procedure": procedure,
        "rendered": rendered,
        "step": step,
        "form": form,
        "draft": draft,
        "summary": summary_rows(rendered, data) if step.is_confirmation else [],
        "fee_cents": procedure.fee_for(CHANNEL),
        "error_steps": error_steps or [],
    }, status=status)


@login_required
def confirmation(request: HttpRequest, reference: str) -> HttpResponse:
    case = _case_or_404(request, reference)
    return render(request, "crm/confirmation.html", {
        "case": case, "awaiting_payment": case.state == CaseState.AWAITING_PAYMENT})


@login_required
@require_POST
def draft_delete(request: HttpRequest, code: str) -> HttpResponse:
    procedure = Procedure.objects.filter(code=code).first()
    if procedure is not None:
        services.case_draft_discard(requester=request.user, procedure=procedure)
        messages.success(request, _("The draft is deleted."))
    return redirect("crm:my_requests")


# --- my requests -----------------------------------------------------------------------


@login_required
def my_requests(request: HttpRequest) -> HttpResponse:
    paginator = Paginator(selectors.cases_of_citizen(request.user), MY_REQUESTS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    return render(request, "crm/my_requests.html", {
        "page": page,
        "drafts": _drafts_of(request.user),
    })


def _drafts_of(user: Any) -> Any:
    """The citizen's live drafts. (crm.selectors has only the one-procedure read,
    case_draft_get; this list belongs there too.)"""
    drafts_of = getattr(selectors, "drafts_of_citizen", None)
    if drafts_of is not None:
        return drafts_of(user)
    return (CaseDraft.objects.filter(requester=user, expires_at__gt=timezone.now())
            .select_related("procedure").order_by("-updated_at"))


def _case_or_404(request: HttpRequest, reference: str) -> Any:
    try:
        case = selectors.case_get_for_user(user=request.user, reference=reference)
    except NotFound as exc:
        raise Http404(str(exc.message)) from exc
    # Staff work cases in the back office; this page is only for the citizen concerned.
    if Role.CITIZEN not in selectors.roles_on_case(request.user, case):
        raise Http404(_("This request does not exist or you may not see it."))
    return case


@login_required
def case_detail(request: HttpRequest, reference: str) -> HttpResponse:
    case = _case_or_404(request, reference)
    response = _render_case(request, case)
    # Reading the page is reading the messages (the back office sees they were read).
    services.case_messages_mark_read(case=case, reader=request.user)
    return response


def _render_case(request: HttpRequest, case: Any, *, message_form: Any = None,
                 cancel_form: Any = None, status: int = 200) -> HttpResponse:
    can_cancel = CaseState.CANCELLED in next_states(case.state, {Role.CITIZEN})
    return render(request, "crm/case_detail.html", {
        "case": case,
        "timeline": selectors.case_timeline(case, public_only=True),
        "case_messages": case.messages.all(),
        "documents": _documents_of_case(case),
        "attachments": list(case.attachments.all()),
        "message_form": message_form or CitizenMessageForm(),
        "cancel_form": (cancel_form or CancelForm()) if can_cancel else None,
        "awaiting_citizen": case.state == CaseState.AWAITING_CITIZEN,
        "awaiting_payment": case.state == CaseState.AWAITING_PAYMENT,
    }, status=status)


@login_required
@require_POST
def case_reply(request: HttpRequest, reference: str) -> HttpResponse:
    """The citizen writes: their answer when information was asked, else a message."""
    case = _case_or_404(request, reference)
    form = CitizenMessageForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render_case(request, case, message_form=form, status=400)
    attachment = form.cleaned_data.get("attachment")
    answering = case.state == CaseState.AWAITING_CITIZEN
    try:
        services.case_citizen_reply(
            case=case, citizen=request.user, body=form.cleaned_data["body"],
            attachments=[("reply", attachment)] if attachment else ())
    except ValidationFailed as exc:
        for name, errors in (exc.details or {}).items():
            target = name if name in form.fields else "attachment"
            for message in errors if isinstance(errors, list | tuple) else [errors]:
                form.add_error(target, str(message))
        if not exc.details:
            form.add_error(None, str(exc.message))
        return _render_case(request, case, message_form=form, status=400)
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Your answer is sent. The agent will continue with your "
                                    "request.") if answering else _("Your message is sent."))
    return redirect("crm:case_detail", case.reference)


@login_required
@require_POST
def case_cancel(request: HttpRequest, reference: str) -> HttpResponse:
    case = _case_or_404(request, reference)
    form = CancelForm(request.POST)
    if not form.is_valid():
        return _render_case(request, case, cancel_form=form, status=400)
    try:
        services.case_cancel(case=case, actor=request.user, reason=form.cleaned_data["reason"])
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("Your request is cancelled."))
    return HttpResponseRedirect(reverse("crm:case_detail", args=[case.reference]))
