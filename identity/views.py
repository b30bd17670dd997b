"""Citizen pages: login with a digital key, activation, the keys in the profile; and the
staff second-factor step. Thin: parse, call one service, render."""

from __future__ import annotations

import base64
import datetime
import io
import json
from functools import wraps
from typing import cast
from urllib.parse import urlparse

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_ratelimit.core import is_ratelimited

from core.errors import DomainError
from identity import services
from identity.backends import oidc_configured
from identity.constants import KEY_ASSURANCE, AssuranceLevel, AuditAction, KeyKind
from identity.forms import (
    ActivationCodeForm,
    CodeForm,
    EmailLoginForm,
    KeyRenameForm,
    StaffEnrolForm,
    StaffTokenForm,
    TotpLoginForm,
    TotpSetupForm,
)
from identity.models import User
from identity.selectors import (
    assurance_level_of,
    has_second_factor,
    is_staff_member,
    key_of_user,
    keys_of,
)

ENROL_SESSION_KEY = "identity.enrol"
ENROL_MINUTES = 30
NEXT_SESSION_KEY = "identity.next"
LOGIN_EMAIL_SESSION_KEY = "identity.login_email"
TOTP_SETUP_SESSION_KEY = "identity.totp_setup"
PASSKEY_CHALLENGE_KEY = "identity.passkey_challenge"


def _citizen(request: HttpRequest) -> User:
    """The logged-in user of a @login_required view."""
    return cast(User, request.user)


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def safe_next(request: HttpRequest, candidate: str | None) -> str:
    """`next` only when it stays on this site; else the portal home."""
    if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return candidate
    return settings.LOGIN_REDIRECT_URL


def _after_login(request: HttpRequest) -> HttpResponse:
    return redirect(safe_next(request, request.session.pop(NEXT_SESSION_KEY, None)))


def rate_limited(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The 429 page: clear, translated, and audited."""
    services.audit(action=AuditAction.RATE_LIMITED, ip=client_ip(request),
                   subject_user=request.user if request.user.is_authenticated else None,
                   details={"path": request.path[:200]})
    return render(request, "identity/rate_limited.html", status=429)


def _too_many(request: HttpRequest, *, group: str, account: str = "") -> bool:
    """Count this POST per IP and, when known, per account (e-mail, activation link)."""
    limited = is_ratelimited(request, group=f"identity.{group}.ip", key="ip",
                             rate=settings.IDENTITY_RATE_PER_IP, method="POST", increment=True)
    if account:
        limited = is_ratelimited(
            request, group=f"identity.{group}.account", key=lambda _g, _r: account.lower(),
            rate=settings.IDENTITY_RATE_PER_ACCOUNT, method="POST", increment=True) or limited
    return limited


def _form_errors(form, exc: DomainError) -> None:
    details = exc.details or {}
    placed = False
    for field, field_messages in details.items():
        if field in form.fields:
            for message in (field_messages if isinstance(field_messages, list | tuple)
                            else [field_messages]):
                form.add_error(field, str(message))
                placed = True
    if not placed:
        form.add_error(None, str(exc.message))


def _rp(request: HttpRequest) -> tuple[str, str]:
    """WebAuthn relying party id and expected origin for this request."""
    origin = f"{request.scheme}://{request.get_host()}"
    rp_id = settings.IDENTITY_WEBAUTHN_RP_ID or urlparse(origin).hostname or "localhost"
    return rp_id, origin


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str | None) -> bytes | None:
    return base64.b64decode(text) if text else None


# --- login ------------------------------------------------------------------------------

@never_cache
@require_GET
def login_view(request: HttpRequest) -> HttpResponse:
    nxt = request.GET.get("next")
    if nxt:
        request.session[NEXT_SESSION_KEY] = safe_next(request, nxt)
    return render(request, "identity/login.html", {
        "email_form": EmailLoginForm(), "totp_form": TotpLoginForm(),
        "oidc_enabled": oidc_configured(),
        "oidc_failed": request.GET.get("failed") == "oidc",
        "next": request.session.get(NEXT_SESSION_KEY, ""),
        "current_level": assurance_level_of(request),
    })


@never_cache
@require_POST
def login_email_view(request: HttpRequest) -> HttpResponse:
    form = EmailLoginForm(request.POST)
    if not form.is_valid():
        return render(request, "identity/login.html", {
            "email_form": form, "totp_form": TotpLoginForm(),
            "oidc_enabled": oidc_configured()}, status=400)
    email = form.cleaned_data["email"]
    if _too_many(request, group="login", account=email):
        return rate_limited(request)
    user, challenge = services.login_email_start(email=email, ip=client_ip(request))
    request.session[LOGIN_EMAIL_SESSION_KEY] = {
        "email": email, "user": user.pk if user else None,
        "challenge": challenge.pk if challenge else None}
    return redirect("identity:login_email_code")


@never_cache
@require_http_methods(["GET", "POST"])
def login_email_code_view(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(LOGIN_EMAIL_SESSION_KEY)
    if not pending:
        return redirect("identity:login")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if _too_many(request, group="login", account=pending["email"]):
            return rate_limited(request)
        user = User.objects.filter(pk=pending["user"]).first() if pending["user"] else None
        try:
            services.login_email_finish(request=request, user=user,
                                        challenge_id=pending["challenge"],
                                        code=form.cleaned_data["code"])
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            request.session.pop(LOGIN_EMAIL_SESSION_KEY, None)
            return _after_login(request)
    return render(request, "identity/login_email_code.html",
                  {"form": form, "email": pending["email"],
                   "minutes": settings.IDENTITY_EMAIL_OTP_MINUTES},
                  status=400 if form.errors else 200)


@never_cache
@require_POST
def login_totp_view(request: HttpRequest) -> HttpResponse:
    form = TotpLoginForm(request.POST)
    if form.is_valid():
        if _too_many(request, group="login", account=form.cleaned_data["email"]):
            return rate_limited(request)
        try:
            services.login_totp(request=request, email=form.cleaned_data["email"],
                                code=form.cleaned_data["code"])
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            return _after_login(request)
    return render(request, "identity/login.html", {
        "email_form": EmailLoginForm(), "totp_form": form, "oidc_enabled": oidc_configured(),
        "totp_open": True}, status=400)


@never_cache
@require_POST
def login_passkey_options_view(request: HttpRequest) -> HttpResponse:
    if _too_many(request, group="login"):
        return JsonResponse({"error": _("Too many attempts. Wait a few minutes.")}, status=429)
    rp_id, _origin = _rp(request)
    options, challenge = services.passkey_authentication_options(rp_id=rp_id)
    request.session[PASSKEY_CHALLENGE_KEY] = _b64(challenge)
    return HttpResponse(options, content_type="application/json")


@never_cache
@require_POST
def login_passkey_view(request: HttpRequest) -> HttpResponse:
    if _too_many(request, group="login"):
        return JsonResponse({"error": _("Too many attempts. Wait a few minutes.")}, status=429)
    rp_id, origin = _rp(request)
    challenge = _unb64(request.session.pop(PASSKEY_CHALLENGE_KEY, None))
    try:
        services.login_passkey(request=request, credential=request.body.decode("utf-8", "replace"),
                               challenge=challenge, rp_id=rp_id, origin=origin)
    except DomainError as exc:
        return JsonResponse({"error": str(exc.message)}, status=400)
    return JsonResponse({"redirect": safe_next(request, request.session.pop(NEXT_SESSION_KEY,
                                                                            None))})


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    services.citizen_logout(request=request)
    messages.info(request, _("You are logged out."))
    return redirect("identity:login")


# --- activation -------------------------------------------------------------------------

@never_cache
@require_http_methods(["GET", "POST"])
def activate_view(request: HttpRequest, token: str) -> HttpResponse:
    try:
        activation = services.activation_for_link(link_token=token)
    except DomainError as exc:
        return render(request, "identity/activation_problem.html", {"message": exc.message},
                      status=exc.status)
    form = ActivationCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if _too_many(request, group="activation", account=activation.link_digest):
            return rate_limited(request)
        try:
            user = services.activation_redeem(link_token=token, code=form.cleaned_data["code"],
                                              ip=client_ip(request))
        except DomainError as exc:
            if exc.code == "activation_code_wrong":
                _form_errors(form, exc)
            else:
                return render(request, "identity/activation_problem.html",
                              {"message": exc.message}, status=exc.status)
        else:
            if request.user.is_authenticated and request.user != user:
                services.citizen_logout(request=request)
            request.session[ENROL_SESSION_KEY] = {
                "user": user.pk,
                "until": (timezone.now() + datetime.timedelta(minutes=ENROL_MINUTES)).isoformat()}
            return redirect("identity:key_new")
    return render(request, "identity/activate.html", {"form": form, "activation": activation},
                  status=400 if form.errors else 200)


def _enrolling_user(request: HttpRequest) -> User | None:
    data = request.session.get(ENROL_SESSION_KEY)
    if not data:
        return None
    if datetime.datetime.fromisoformat(data["until"]) <= timezone.now():
        request.session.pop(ENROL_SESSION_KEY, None)
        return None
    user = User.objects.filter(pk=data["user"], is_active=True).first()
    if request.user.is_authenticated and request.user != user:
        return None
    return user


def key_owner(request: HttpRequest, kind: str) -> User | None:
    """Who may add a key of this kind now: a citizen just activated at the counter, or one
    logged in with a key at least as strong (a weak key cannot mint a strong one)."""
    user = _enrolling_user(request)
    if user is not None:
        return user
    if (request.user.is_authenticated and request.user.person_id
            and assurance_level_of(request) >= KEY_ASSURANCE[KeyKind(kind)]):
        return request.user
    return None


def enrolment_required(kind: str):
    def decorator(view):
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs):
            user = key_owner(request, kind)
            if user is None:
                return render(request, "identity/key_not_allowed.html",
                              {"kind": KeyKind(kind)}, status=403)
            return view(request, user, *args, **kwargs)
        return wrapped
    return decorator


def _key_created(request: HttpRequest, key) -> HttpResponse:
    """First key of an activation logs the citizen in with it; the next ones are added."""
    if not request.user.is_authenticated:
        services.citizen_login(request=request, user=key.user, level=key.assurance_level,
                               method=key.kind)
        enrol = request.session.get(ENROL_SESSION_KEY)
        if enrol is not None:  # login() cycled the session; keep the enrolment window
            request.session[ENROL_SESSION_KEY] = enrol
    messages.success(request, _("Your digital key “%(name)s” is ready.") % {
        "name": key.name})
    return redirect("identity:keys")


@never_cache
@require_GET
def key_new_view(request: HttpRequest) -> HttpResponse:
    user = _enrolling_user(request) or (request.user if request.user.is_authenticated else None)
    if user is None:
        return redirect(f"{reverse('identity:login')}?next={reverse('identity:key_new')}")
    allowed = {kind: key_owner(request, kind) is not None for kind in KeyKind.values}
    return render(request, "identity/key_new.html", {
        "allowed": allowed, "enrolling": _enrolling_user(request) is not None,
        "has_email_key": keys_of(user).filter(kind=KeyKind.EMAIL_OTP).exists(),
        "account_email": user.email})


@never_cache
@require_http_methods(["GET", "POST"])
@enrolment_required(KeyKind.EMAIL_OTP)
def key_new_email_view(request: HttpRequest, user: User) -> HttpResponse:
    form = CodeForm(request.POST if request.POST.get("action") == "verify" else None)
    sent = bool(request.session.get("identity.enrol_challenge"))
    if request.method == "POST":
        if _too_many(request, group="enrol", account=user.email):
            return rate_limited(request)
        if request.POST.get("action") == "send":
            challenge = services.email_challenge_send(user=user, purpose="enrol",
                                                      ip=client_ip(request))
            request.session["identity.enrol_challenge"] = challenge.pk
            sent = True
        elif form.is_valid():
            try:
                key = services.key_create_email_otp(
                    user=user, challenge_id=request.session.get("identity.enrol_challenge"),
                    code=form.cleaned_data["code"], ip=client_ip(request))
            except DomainError as exc:
                _form_errors(form, exc)
            else:
                request.session.pop("identity.enrol_challenge", None)
                return _key_created(request, key)
    return render(request, "identity/key_new_email.html", {
        "form": form, "sent": sent, "email": user.email,
        "minutes": settings.IDENTITY_EMAIL_OTP_MINUTES}, status=400 if form.errors else 200)


def _qr_svg(data: str) -> str:
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    svg = buffer.getvalue().decode()
    return svg[svg.index("<svg"):]


def _totp_setup_context(*, secret: str, uri: str) -> dict[str, str]:
    """What identity/_totp_setup_steps.html shows: the QR code and the key to type."""
    return {"qr_svg": _qr_svg(uri), "secret": secret,
            "secret_grouped": " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))}


@never_cache
@require_http_methods(["GET", "POST"])
@enrolment_required(KeyKind.TOTP)
def key_new_totp_view(request: HttpRequest, user: User) -> HttpResponse:
    secret = request.session.get(TOTP_SETUP_SESSION_KEY)
    if not secret:
        secret = services.totp_new_secret()
        request.session[TOTP_SETUP_SESSION_KEY] = secret
    form = TotpSetupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if _too_many(request, group="enrol", account=user.email):
            return rate_limited(request)
        try:
            key = services.key_create_totp(user=user, secret=secret,
                                           code=form.cleaned_data["code"],
                                           name=form.cleaned_data["name"], ip=client_ip(request))
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            request.session.pop(TOTP_SETUP_SESSION_KEY, None)
            return _key_created(request, key)
    uri = services.totp_provisioning_uri(secret=secret, user=user)
    return render(request, "identity/key_new_totp.html", {
        "form": form, "uri": uri, **_totp_setup_context(secret=secret, uri=uri)},
        status=400 if form.errors else 200)


@never_cache
@require_GET
@enrolment_required(KeyKind.PASSKEY)
def key_new_passkey_view(request: HttpRequest, user: User) -> HttpResponse:
    return render(request, "identity/key_new_passkey.html", {})


@never_cache
@require_POST
@enrolment_required(KeyKind.PASSKEY)
def key_new_passkey_options_view(request: HttpRequest, user: User) -> HttpResponse:
    rp_id, _origin = _rp(request)
    options, challenge = services.passkey_registration_options(user=user, rp_id=rp_id)
    request.session[PASSKEY_CHALLENGE_KEY] = _b64(challenge)
    return HttpResponse(options, content_type="application/json")


@never_cache
@require_POST
@enrolment_required(KeyKind.PASSKEY)
def key_new_passkey_finish_view(request: HttpRequest, user: User) -> HttpResponse:
    if _too_many(request, group="enrol", account=user.email):
        return JsonResponse({"error": _("Too many attempts. Wait a few minutes.")}, status=429)
    rp_id, origin = _rp(request)
    try:
        payload = json.loads(request.body or b"{}")
        name = str(payload.pop("keyName", ""))[:80] if isinstance(payload, dict) else ""
        credential = json.dumps(payload)
    except ValueError:
        return JsonResponse({"error": _("The passkey could not be registered. Try again.")},
                            status=400)
    try:
        key = services.key_create_passkey(
            user=user, credential=credential,
            challenge=_unb64(request.session.pop(PASSKEY_CHALLENGE_KEY, None)),
            rp_id=rp_id, origin=origin, name=name, ip=client_ip(request))
    except DomainError as exc:
        return JsonResponse({"error": str(exc.message)}, status=exc.status)
    _key_created(request, key)
    return JsonResponse({"redirect": reverse("identity:keys")})


# --- profile: keys ----------------------------------------------------------------------

@never_cache
@login_required
@require_GET
def keys_view(request: HttpRequest) -> HttpResponse:
    keys = keys_of(_citizen(request))
    return render(request, "identity/keys.html", {
        "keys": keys, "level": assurance_level_of(request), "levels": AssuranceLevel,
        "enrolling": _enrolling_user(request) is not None,
        "rename_form": KeyRenameForm()})


@login_required
@require_POST
def key_rename_view(request: HttpRequest, key_id: int) -> HttpResponse:
    form = KeyRenameForm(request.POST)
    try:
        key = key_of_user(user=_citizen(request), key_id=key_id)
        if not form.is_valid():
            messages.error(request, _("Give the key a name of 1 to 80 characters."))
            return redirect("identity:keys")
        services.key_rename(key=key, user=_citizen(request), name=form.cleaned_data["name"],
                            ip=client_ip(request))
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("identity:keys")
    messages.success(request, _("The key has been renamed."))
    return redirect("identity:keys")


@login_required
@require_POST
def key_revoke_view(request: HttpRequest, key_id: int) -> HttpResponse:
    try:
        key = key_of_user(user=_citizen(request), key_id=key_id)
        services.key_revoke(key=key, user=_citizen(request), ip=client_ip(request))
    except DomainError as exc:
        messages.error(request, str(exc.message))
        return redirect("identity:keys")
    messages.success(request, _("The key “%(name)s” has been revoked: it can no "
                                "longer be used to log in.") % {"name": key.name})
    return redirect("identity:keys")


# --- staff second factor ----------------------------------------------------------------

def _staff_next(request: HttpRequest) -> str:
    nxt = request.GET.get("next") or request.POST.get("next") or reverse("wagtailadmin_home")
    if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        nxt = reverse("wagtailadmin_home")
    return nxt


def _with_next(url: str, nxt: str) -> str:
    from urllib.parse import urlencode

    return f"{url}?{urlencode({'next': nxt})}"


@never_cache
@require_http_methods(["GET", "POST"])
def staff_verify_view(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated or not is_staff_member(request.user):
        return redirect("wagtailadmin_login")
    nxt = _staff_next(request)
    if request.user.is_verified():  # type: ignore[union-attr,attr-defined]  # django-otp
        return redirect(nxt)
    if not has_second_factor(request.user):
        return redirect(_with_next(reverse("identity:staff_enrol"), nxt))
    form = StaffTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if _too_many(request, group="staff", account=request.user.username):
            return rate_limited(request)
        if services.staff_second_factor(request=request, token=form.cleaned_data["token"]):
            return redirect(nxt)
        form.add_error("token", _("This code is not correct."))
    return render(request, "identity/staff_verify.html", {"form": form, "next": nxt},
                  status=400 if form.errors else 200)


@never_cache
@require_http_methods(["GET", "POST"])
def staff_enrol_view(request: HttpRequest) -> HttpResponse:
    """Set up the authenticator app of a staff member who has no second factor yet; the
    back office stays closed until a code from it comes back."""
    if not request.user.is_authenticated or not is_staff_member(request.user):
        return redirect("wagtailadmin_login")
    nxt = _staff_next(request)
    if has_second_factor(request.user):
        return redirect(_with_next(reverse("identity:staff_verify"), nxt))
    user = cast(User, request.user)
    try:
        device = services.staff_totp_enrolment(user=user)
    except DomainError as exc:
        return render(request, "identity/staff_problem.html", {"message": exc.message},
                      status=exc.status)
    form = StaffEnrolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if _too_many(request, group="staff", account=user.username):
            return rate_limited(request)
        try:
            backup_codes = services.staff_totp_confirm(request=request,
                                                       code=form.cleaned_data["code"])
        except DomainError as exc:
            _form_errors(form, exc)
        else:
            # Shown in this response only: nothing keeps them in clear for a second look.
            return render(request, "identity/staff_backup_codes.html", {
                "backup_codes": backup_codes, "next": nxt, "enrolled": True})
    return render(request, "identity/staff_enrol.html", {
        "form": form, "next": nxt,
        **_totp_setup_context(secret=base64.b32encode(device.bin_key).decode(),
                              uri=device.config_url)}, status=400 if form.errors else 200)
