"""LRA screens of the back office (Wagtail admin): register search, BIS registration,
activation issue and revoke, the printable start card, and the access manager's role screen.

Only holders of the officer role see the LRA screens; others get a 403 page (not Wagtail's
redirect), so the refusal is explicit."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.models import Group
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django.views.generic import View
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from core.errors import Conflict, DomainError
from identity import codes, services
from identity.constants import GROUP_LRA_OFFICER, AuditAction
from identity.forms import (
    ActivationIssueForm,
    BisRegistrationForm,
    RegisterSearchForm,
    StaffSecondFactorForm,
)
from identity.models import Activation, User
from identity.registers import BisRegistration
from identity.selectors import (
    activations_of_person,
    audit_events,
    audit_events_of_person,
    can_manage_access,
    is_lra_officer,
    is_staff_member,
    person_get,
    second_factor_of,
    staff_for_role_management,
    staff_without_second_factor,
)
from identity.views import _form_errors, _too_many, client_ip, rate_limited

STARTCARD_SESSION_KEY = "identity.startcards"


def _forbidden(request: HttpRequest) -> HttpResponse:
    return render(request, "identity/admin/forbidden.html", {
        "page_title": _("Access denied"), "header_icon": "lock"}, status=403)


def _not_found(request: HttpRequest) -> HttpResponse:
    # Rendered here rather than raised: the i18n URL fallback would turn an admin 404 into
    # a redirect to a language-prefixed path.
    return render(request, "identity/admin/not_found.html", {
        "page_title": _("Not found"), "header_icon": "warning"}, status=404)


class OfficerView(WagtailAdminTemplateMixin, View):
    header_icon = "user"
    allowed = staticmethod(is_lra_officer)

    def dispatch(self, request, *args, **kwargs):
        if not self.allowed(request.user):
            return _forbidden(request)
        response = super().dispatch(request, *args, **kwargs)
        response["Cache-Control"] = "no-store"
        return response

    def get_breadcrumbs_items(self):
        return []

    def render(self, request: HttpRequest, context: dict, status: int = 200) -> HttpResponse:
        return self.render_to_response(self.get_context_data(**context), status=status)


class SearchView(OfficerView):
    template_name = "identity/admin/lra_search.html"
    page_title = gettext_lazy("Local Registration: find a person")

    # POST, not GET: national numbers and names must not end up in URLs and access logs.
    def get(self, request):
        return self.render(request, {"form": RegisterSearchForm(), "results": None})

    def post(self, request):
        form = RegisterSearchForm(request.POST)
        results = None
        if form.is_valid():
            try:
                results = services.lra_register_search(
                    officer=request.user, number=form.cleaned_data["number"],
                    last_name=form.cleaned_data["last_name"],
                    birth_date=form.cleaned_data["birth_date"], ip=client_ip(request))
            except DomainError as exc:
                _form_errors(form, exc)
        return self.render(request, {"form": form, "results": results},
                           status=400 if form.errors else 200)


class PersonView(OfficerView):
    template_name = "identity/admin/lra_person.html"
    page_title = gettext_lazy("Local Registration: person")

    def get(self, request, person_id: int, form: ActivationIssueForm | None = None,
            status: int = 200):
        try:
            person = person_get(person_id)
        except DomainError:
            return _not_found(request)
        if form is None:
            services.lra_person_viewed(officer=request.user, person=person,
                                       ip=client_ip(request))
        account = User.objects.filter(person=person).first()
        form = form or ActivationIssueForm(initial={
            "email": account.email if account else "",
            "language": account.preferred_language if account else translation.get_language()})
        return self.render(request, {
            "person": person, "account": account, "form": form,
            "activations": activations_of_person(person)[:20],
            "events": audit_events_of_person(person, limit=20)}, status=status)

    def post(self, request, person_id: int):
        """Issue an activation, then show the start card."""
        try:
            person = person_get(person_id)
        except DomainError:
            return _not_found(request)
        form = ActivationIssueForm(request.POST)
        if form.is_valid():
            try:
                issued = services.activation_issue(
                    officer=request.user, person=person, email=form.cleaned_data["email"],
                    language=form.cleaned_data["language"], ip=client_ip(request))
            except DomainError as exc:
                _form_errors(form, exc)
            else:
                if issued.email_failed:
                    # The link is lost for good: withdraw the activation rather than leave a
                    # code that can never be used.
                    services.activation_revoke(activation=issued.activation,
                                               officer=request.user, ip=client_ip(request))
                    messages.error(request, _(
                        "The e-mail to %(email)s could not be sent, so the activation was "
                        "withdrawn (its code alone is useless). Try again once e-mail works.")
                        % {"email": issued.activation.email})
                    return redirect(request.path)
                # The code exists in clear only here: kept in the officer's session for the
                # start card (to print it again), dropped when revoked or replaced.
                cards = request.session.get(STARTCARD_SESSION_KEY, {})
                cards[str(issued.activation.pk)] = issued.code
                request.session[STARTCARD_SESSION_KEY] = cards
                messages.success(request, _("Activation issued: the link has been e-mailed to "
                                            "%(email)s. Print the start card.") % {
                    "email": issued.activation.email})
                return redirect("identity_lra_startcard", issued.activation.pk)
        return self.get(request, person_id, form=form, status=400)


class RegisterBisView(OfficerView):
    template_name = "identity/admin/lra_register.html"
    page_title = gettext_lazy("Local Registration: register in BIS")

    def get(self, request):
        initial = {k: request.GET[k] for k in ("last_name", "birth_date") if k in request.GET}
        return self.render(request, {"form": BisRegistrationForm(initial=initial)})

    def post(self, request):
        form = BisRegistrationForm(request.POST)
        duplicate = None
        if form.is_valid():
            data = form.cleaned_data
            try:
                person = services.bis_register(
                    officer=request.user,
                    registration=BisRegistration(
                        first_names=data["first_names"], last_name=data["last_name"],
                        birth_date=data["birth_date"], birth_place=data["birth_place"],
                        gender=data["gender"], nationality=data["nationality"]),
                    document=services.CheckedDocument(
                        document_type=data["document_type"],
                        document_number=data["document_number"],
                        issuing_country=data["issuing_country"], expires_on=data["expires_on"],
                        checked_with=data["checked_with"]),
                    ip=client_ip(request))
            except Conflict as exc:
                services.bis_register_refused(officer=request.user, ip=client_ip(request),
                                              details={**exc.details,
                                                       "last_name": data["last_name"]})
                form.add_error(None, str(exc.message))
                duplicate = exc.details.get("person_id")
            except DomainError as exc:
                _form_errors(form, exc)
            else:
                messages.success(request, _("%(name)s is registered in BIS with number "
                                            "%(number)s.") % {"name": person.full_name,
                                                              "number": person.number})
                return redirect("identity_lra_person", person.pk)
        return self.render(request, {"form": form, "duplicate": duplicate}, status=400)


class StartCardView(OfficerView):
    """The printable A4 start card, in the citizen's language."""

    template_name = "identity/admin/startcard.html"

    def get(self, request, activation_id: int):
        activation = (Activation.objects.select_related("person", "issued_by")
                      .filter(pk=activation_id).first())
        if activation is None:
            return _not_found(request)
        code = request.session.get(STARTCARD_SESSION_KEY, {}).get(str(activation.pk))
        if activation.status != "pending":
            code = None
        with translation.override(activation.language):
            response = render(request, self.template_name, {
                "activation": activation, "person": activation.person,
                "code": codes.format_activation_code(code) if code else None,
                "login_url": request.build_absolute_uri(reverse("identity:login")),
                "language": activation.language,
                "back_url": reverse("identity_lra_person", args=[activation.person_id]),
            })
        response["Cache-Control"] = "no-store"
        return response


@never_cache
@require_POST
def revoke_view(request: HttpRequest, activation_id: int) -> HttpResponse:
    if not is_lra_officer(request.user):
        return _forbidden(request)
    activation = Activation.objects.filter(pk=activation_id).first()
    if activation is None:
        return _not_found(request)
    try:
        services.activation_revoke(activation=activation, officer=request.user,  # type: ignore[arg-type]
                                   ip=client_ip(request))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        cards = request.session.get(STARTCARD_SESSION_KEY, {})
        cards.pop(str(activation.pk), None)
        request.session[STARTCARD_SESSION_KEY] = cards
        messages.success(request, _("The activation has been revoked: the link and the code no "
                                    "longer work."))
    return redirect("identity_lra_person", activation.person_id)


class RolesView(OfficerView):
    """The municipal access manager grants the officer role."""

    template_name = "identity/admin/roles.html"
    page_title = gettext_lazy("Access management: Local Registration Officers")
    header_icon = "group"
    allowed = staticmethod(can_manage_access)

    def get(self, request):
        group = Group.objects.filter(name=GROUP_LRA_OFFICER).first()
        officers = set(group.user_set.values_list("pk", flat=True)) if group else set()
        members = list(staff_for_role_management())
        missing = staff_without_second_factor([u.pk for u in members])
        staff = [(u, u.pk in officers, u.pk not in missing) for u in members]
        return self.render(request, {"staff": staff, "role": GROUP_LRA_OFFICER})

    def post(self, request):
        user = User.objects.filter(pk=request.POST.get("user"), person__isnull=True).first()
        if user is None:
            messages.error(request, _("This staff member does not exist."))
            return redirect("identity_roles")
        try:
            services.role_set(manager=request.user, user=user, group_name=GROUP_LRA_OFFICER,
                              granted=request.POST.get("grant") == "1", ip=client_ip(request))
        except DomainError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("The role of %(user)s has been updated.") % {
                "user": user.get_full_name() or user.username})
        return redirect("identity_roles")


class AuditView(OfficerView):
    """The identity audit trail for the access manager: every search, registration,
    activation, key change and login, newest first, filterable by action."""

    template_name = "identity/admin/audit.html"
    page_title = gettext_lazy("Access management: identity audit trail")
    header_icon = "history"
    allowed = staticmethod(can_manage_access)
    per_page = 50

    def get(self, request):
        action = request.GET.get("action", "")
        events = audit_events(action=action if action in AuditAction.values else "")
        page = Paginator(events, self.per_page).get_page(request.GET.get("page"))
        return self.render(request, {"page": page, "actions": AuditAction.choices,
                                     "action": action})


@never_cache
@require_POST
def second_factor_reset_view(request: HttpRequest, user_id: int) -> HttpResponse:
    """The access manager resets a staff member's second factor (lost phone)."""
    if not can_manage_access(request.user):
        return _forbidden(request)
    user = User.objects.filter(pk=user_id, person__isnull=True).first()
    if user is None:
        messages.error(request, _("This staff member does not exist."))
        return redirect("identity_roles")
    try:
        services.staff_second_factor_reset(manager=request.user,  # type: ignore[arg-type]
                                           user=user, ip=client_ip(request))
    except DomainError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("The second factor of %(user)s has been reset: they set up "
                                    "a new one at their next login.") % {
            "user": user.get_full_name() or user.username})
    return redirect("identity_roles")


class SecondFactorView(OfficerView):
    """A staff member's own second factor: what is set up, new backup codes, or a reset
    (a new phone). Both changes are confirmed with a fresh code."""

    template_name = "identity/admin/second_factor.html"
    page_title = gettext_lazy("My second factor")
    header_icon = "key"
    allowed = staticmethod(is_staff_member)

    def get(self, request, form: StaffSecondFactorForm | None = None, status: int = 200,
            backup_codes: list[str] | None = None):
        return self.render(request, {
            **second_factor_of(request.user), "form": form or StaffSecondFactorForm(),
            "backup_codes": backup_codes}, status=status)

    def post(self, request):
        form = StaffSecondFactorForm(request.POST)
        action = request.POST.get("action")
        if action not in ("backup_codes", "reset"):
            form.add_error(None, _("Choose what to change."))
            return self.get(request, form=form, status=400)
        if form.is_valid():
            if _too_many(request, group="staff", account=request.user.username):
                return rate_limited(request)
            try:
                if action == "backup_codes":
                    backup_codes = services.staff_backup_codes_renew(
                        user=request.user, token=form.cleaned_data["token"],
                        ip=client_ip(request))
                    # Shown in this response only.
                    return self.get(request, backup_codes=backup_codes)
                services.staff_second_factor_reset_own(
                    user=request.user, token=form.cleaned_data["token"], ip=client_ip(request))
            except DomainError as exc:
                _form_errors(form, exc)
            else:
                return redirect(f"{reverse('identity:staff_enrol')}?next="
                                f"{reverse('identity_second_factor')}")
        return self.get(request, form=form, status=400)
