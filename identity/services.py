"""Writes of the identity app: the LRA flow, citizen accounts, digital keys and logins.

Every service writes an IdentityAuditEvent in the same transaction as its change. Where a
failed attempt must leave a trace (a wrong activation code, a failed login) the trace is
committed first and the domain error raised afterwards, so that the rollback of the error
does not erase the count of wrong tries.
"""

from __future__ import annotations

import datetime
import json
import logging
import smtplib
from dataclasses import dataclass, field
from typing import Any, cast

import pyotp
from django.conf import settings
from django.contrib import auth
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp import devices_for_user
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidRegistrationResponse
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from identity import codes, emails
from identity.constants import (
    GRANTABLE_GROUPS,
    KEY_ASSURANCE,
    STAFF_BACKUP_CODE_COUNT,
    AssuranceLevel,
    AuditAction,
    DocumentCheck,
    DocumentType,
    KeyKind,
    LoginMethod,
)
from identity.models import (
    Activation,
    DigitalKey,
    EmailChallenge,
    IdentityAuditEvent,
    IdentityDocument,
    Person,
    User,
)
from identity.numbers import compact, number_kind
from identity.registers import BisRegistration, get_adapter
from identity.registers.local import fold
from identity.selectors import (
    SESSION_ASSURANCE_KEY,
    SESSION_LOGIN_METHOD_KEY,
    can_manage_access,
    has_second_factor,
    is_lra_officer,
    is_staff_member,
)

logger = logging.getLogger(__name__)

DIGITAL_KEY_BACKEND = "identity.backends.DigitalKeyBackend"


# --- audit ------------------------------------------------------------------------------

def audit(*, action: str, actor: User | None = None, person: Person | None = None,
          subject_user: User | None = None, ip: str | None = None,
          details: dict[str, Any] | None = None) -> IdentityAuditEvent:
    actor = actor if actor is not None and getattr(actor, "pk", None) else None
    return IdentityAuditEvent.objects.create(
        action=action, actor=actor, person=person, subject_user=subject_user, ip=ip or None,
        details=details or {},
    )


def _require_officer(officer: User) -> None:
    if not is_lra_officer(officer):
        raise NotAllowed(_("Only a Local Registration Officer may do this."))


# --- register (LRA) ---------------------------------------------------------------------

@transaction.atomic
def lra_register_search(*, officer: User, number: str = "", last_name: str = "",
                        birth_date: datetime.date | None = None,
                        ip: str | None = None) -> list[Person]:
    """Search the register for an officer: by number, or by last name and birth date.
    Each search is audited (the LRA agreement requires a trace of every consultation)."""
    _require_officer(officer)
    number = compact(number)
    if number:
        if number_kind(number) is None:
            raise ValidationFailed(
                _("This is not a valid national register or BIS number."),
                details={"number": [_("This is not a valid national register or BIS number.")]})
        person = get_adapter().lookup(number)
        results = [person] if person else []
        criteria: dict[str, Any] = {"number": number}
    else:
        errors: dict[str, list[str]] = {}
        if not last_name.strip():
            errors["last_name"] = [_("Enter the last name, or search by number.")]
        if birth_date is None:
            errors["birth_date"] = [_("Enter the birth date, or search by number.")]
        if errors or birth_date is None:
            raise ValidationFailed(_("Search by number, or by last name and birth date."),
                                   details=errors)
        results = get_adapter().search(last_name=last_name, birth_date=birth_date)
        criteria = {"last_name": last_name.strip(), "birth_date": birth_date.isoformat()}
    audit(action=AuditAction.REGISTER_SEARCH, actor=officer, ip=ip,
          details={**criteria, "results": [p.number for p in results]})
    return results


@dataclass(frozen=True)
class CheckedDocument:
    document_type: str
    document_number: str
    issuing_country: str
    expires_on: datetime.date
    checked_with: str


def _document_errors(document: CheckedDocument) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if document.document_type not in DocumentType.values:
        errors["document_type"] = [_("Choose the type of document.")]
    if not document.document_number.strip():
        errors["document_number"] = [_("Enter the document number.")]
    if len(document.issuing_country) != 2 or not document.issuing_country.isalpha():
        errors["issuing_country"] = [_("Enter the two-letter code of the issuing country.")]
    if document.checked_with not in DocumentCheck.values:
        errors["checked_with"] = [_("Say where the document was checked (Checkdoc or PRADO).")]
    if document.expires_on < timezone.localdate():
        errors["expires_on"] = [_("This document has expired: it cannot prove the identity.")]
    return errors


@transaction.atomic
def bis_register(*, officer: User, registration: BisRegistration, document: CheckedDocument,
                 ip: str | None = None) -> Person:
    """Register a person who is in neither register in BIS, after the officer checked an
    identity document. Refuses a duplicate: the same document already recorded, or a
    person with the same name and birth date already registered (search first)."""
    _require_officer(officer)
    document = CheckedDocument(
        document_type=document.document_type,
        document_number=document.document_number.strip().upper().replace(" ", ""),
        issuing_country=document.issuing_country.strip().upper(),
        expires_on=document.expires_on, checked_with=document.checked_with)
    errors = _document_errors(document)
    if not registration.first_names.strip():
        errors["first_names"] = [_("Enter the first names.")]
    if not registration.last_name.strip():
        errors["last_name"] = [_("Enter the last name.")]
    if registration.birth_date > timezone.localdate():
        errors["birth_date"] = [_("The birth date cannot be in the future.")]
    if errors:
        raise ValidationFailed(_("Please correct the errors below."), details=errors)

    existing_doc = (IdentityDocument.objects.select_related("person")
                    .filter(document_type=document.document_type,
                            issuing_country=document.issuing_country,
                            document_number=document.document_number).first())
    same_person = [p for p in get_adapter().search(last_name=registration.last_name,
                                                   birth_date=registration.birth_date)
                   if fold(p.first_names) == fold(registration.first_names)]
    if existing_doc or same_person:
        found = existing_doc.person if existing_doc else same_person[0]
        raise Conflict(
            _("This person is already registered with number %(number)s: issue the "
              "activation from their record instead.") % {"number": found.number},
            code="duplicate_person", details={"number": found.number, "person_id": found.pk})

    person = get_adapter().create_bis(BisRegistration(
        first_names=registration.first_names.strip(), last_name=registration.last_name.strip(),
        birth_date=registration.birth_date, birth_place=registration.birth_place.strip(),
        gender=registration.gender, nationality=registration.nationality.strip().upper()))
    IdentityDocument.objects.create(
        person=person, document_type=document.document_type,
        document_number=document.document_number, issuing_country=document.issuing_country,
        expires_on=document.expires_on, checked_with=document.checked_with, checked_by=officer)
    audit(action=AuditAction.BIS_REGISTER, actor=officer, person=person, ip=ip,
          details={"number": person.number, "document_type": document.document_type,
                   "issuing_country": document.issuing_country,
                   "checked_with": document.checked_with})
    return person


def bis_register_refused(*, officer: User, details: dict[str, Any], ip: str | None) -> None:
    """The audit trace of a refused duplicate registration (called by the view after the
    failed transaction)."""
    audit(action=AuditAction.BIS_REFUSED, actor=officer, ip=ip, details=details)


# --- activation -------------------------------------------------------------------------

@dataclass(frozen=True)
class IssuedActivation:
    activation: Activation
    code: str  # shown once, on the start card
    link_token: str  # sent once, by e-mail
    # Filled after the commit when the mail server refused the link (frozen, hence a list).
    email_failed: list[int] = field(default_factory=list)

    @property
    def formatted_code(self) -> str:
        return codes.format_activation_code(self.code)


def _email_taken_by_other_person(email: str, person: Person) -> bool:
    return (User.objects.filter(email__iexact=email, person__isnull=False)
            .exclude(person=person).exists())


@transaction.atomic
def activation_issue(*, officer: User, person: Person, email: str, language: str,
                     ip: str | None = None) -> IssuedActivation:
    """Hand out an activation: the link goes by e-mail, the code on the printed start card.
    Earlier pending activations of the person are revoked: only the newest one works."""
    _require_officer(officer)
    email = (email or "").strip()
    errors: dict[str, list[str]] = {}
    try:
        validate_email(email)
    except DjangoValidationError:
        errors["email"] = [_("Enter a valid e-mail address.")]
    if language not in settings.LANGUAGE_CODES:
        errors["language"] = [_("Choose the citizen's language.")]
    if not errors and _email_taken_by_other_person(email, person):
        errors["email"] = [_("This e-mail address already belongs to another citizen's "
                             "account.")]
    if errors:
        raise ValidationFailed(_("Please correct the errors below."), details=errors)
    if person.deceased:
        raise NotAllowed(_("This person is recorded as deceased."), code="deceased")

    person = Person.objects.select_for_update().get(pk=person.pk)
    now = timezone.now()
    for previous in Activation.objects.filter(person=person, used_at__isnull=True,
                                              revoked_at__isnull=True, expires_at__gt=now):
        previous.revoked_at = now
        previous.revoked_by = officer
        previous.save(update_fields=["revoked_at", "revoked_by"])
        audit(action=AuditAction.ACTIVATION_REVOKED, actor=officer, person=person, ip=ip,
              details={"activation": previous.pk, "reason": "replaced"})

    code = codes.new_activation_code()
    link_token = codes.new_link_token()
    activation = Activation.objects.create(
        person=person, email=email, language=language,
        link_digest=codes.digest(link_token, purpose="activation-link"),
        code_digest=codes.digest(code, purpose="activation-code"),
        issued_by=officer, created_at=now,
        expires_at=now + datetime.timedelta(days=settings.IDENTITY_ACTIVATION_DAYS))
    audit(action=AuditAction.ACTIVATION_ISSUED, actor=officer, person=person, ip=ip,
          details={"activation": activation.pk, "email": email, "language": language,
                   "expires_at": activation.expires_at.isoformat()})
    issued = IssuedActivation(activation=activation, code=code, link_token=link_token)
    activation_id = activation.pk

    def send() -> None:
        # After the commit: a mail server that fails cannot undo the activation, and the
        # link exists in clear nowhere else, so the officer is told to issue a new one.
        try:
            emails.send_activation_link(
                activation=Activation.objects.select_related("person").get(pk=activation_id),
                link_token=link_token)
        except (OSError, smtplib.SMTPException):
            logger.exception("activation %s: the e-mail could not be sent", activation_id)
            issued.email_failed.append(activation_id)

    transaction.on_commit(send)
    return issued


@transaction.atomic
def activation_revoke(*, activation: Activation, officer: User, ip: str | None = None) -> Activation:
    _require_officer(officer)
    activation = Activation.objects.select_for_update().get(pk=activation.pk)
    if activation.used_at or activation.revoked_at:
        raise Conflict(_("This activation has already been used or revoked."))
    activation.revoked_at = timezone.now()
    activation.revoked_by = officer
    activation.save(update_fields=["revoked_at", "revoked_by"])
    audit(action=AuditAction.ACTIVATION_REVOKED, actor=officer, person=activation.person, ip=ip,
          details={"activation": activation.pk})
    return activation


ACTIVATION_ERRORS = {
    "invalid": gettext_lazy("This activation link is not valid. Check that you opened the "
                            "whole link from the e-mail, or ask the counter for a new "
                            "activation."),
    "revoked": gettext_lazy("This activation has been cancelled by the counter. Ask for a new "
                            "activation."),
    "used": gettext_lazy("This activation has already been used. If you lost your digital key, "
                         "ask the counter for a new activation."),
    "expired": gettext_lazy("This activation has expired. Ask the counter for a new "
                            "activation."),
    "locked": gettext_lazy("This activation is locked after too many wrong codes. Ask the "
                           "counter for a new activation."),
}


def activation_for_link(*, link_token: str) -> Activation:
    """The activation a link points to, when it can still be used; else a clear error."""
    activation = (Activation.objects.select_related("person")
                  .filter(link_digest=codes.digest(link_token or "", purpose="activation-link"))
                  .first())
    if activation is None:
        raise NotFound(ACTIVATION_ERRORS["invalid"], code="activation_invalid")
    if activation.status != "pending":
        raise ValidationFailed(ACTIVATION_ERRORS[activation.status],
                               code=f"activation_{activation.status}")
    return activation


def activation_redeem(*, link_token: str, code: str, ip: str | None = None) -> User:
    """The citizen proves they hold both the e-mailed link and the printed code.

    A wrong code counts against the activation it was typed for (a code from another
    activation is just a wrong code), and the fifth wrong one locks it for good.
    """
    failure: ValidationFailed | None = None
    with transaction.atomic():
        activation = activation_for_link(link_token=link_token)
        activation = Activation.objects.select_for_update().select_related("person").get(
            pk=activation.pk)
        if activation.status != "pending":  # changed since the read above
            raise ValidationFailed(ACTIVATION_ERRORS[activation.status],
                                   code=f"activation_{activation.status}")
        normalized = codes.normalize_activation_code(code)
        if not codes.matches(normalized, activation.code_digest, purpose="activation-code"):
            activation.failed_attempts += 1
            left = settings.IDENTITY_ACTIVATION_MAX_TRIES - activation.failed_attempts
            audit(action=AuditAction.ACTIVATION_FAILED, person=activation.person, ip=ip,
                  details={"activation": activation.pk, "attempt": activation.failed_attempts})
            if left <= 0:
                activation.locked_at = timezone.now()
                audit(action=AuditAction.ACTIVATION_LOCKED, person=activation.person, ip=ip,
                      details={"activation": activation.pk})
                failure = ValidationFailed(ACTIVATION_ERRORS["locked"], code="activation_locked")
            else:
                message = _("This activation code is not correct. %(left)s tries left.") % {
                    "left": left}
                failure = ValidationFailed(message, code="activation_code_wrong",
                                           details={"code": [message]})
            activation.save(update_fields=["failed_attempts", "locked_at"])
        else:
            activation.used_at = timezone.now()
            activation.save(update_fields=["used_at"])
            user = citizen_account_for_person(person=activation.person, email=activation.email,
                                              language=activation.language)
            audit(action=AuditAction.ACTIVATION_USED, person=activation.person,
                  subject_user=user, ip=ip, details={"activation": activation.pk})
            return user
    raise failure


# --- citizen accounts -------------------------------------------------------------------

@transaction.atomic
def citizen_account_for_person(*, person: Person, email: str = "", language: str | None = None,
                               actor: User | None = None) -> User:
    """The citizen account of a register entry, created when missing (used by the LRA
    activation and by the counter mode of the back office). Citizens have no password."""
    user = User.objects.select_for_update().filter(person=person).first()
    if user is None:
        user = User(username=f"citizen-{person.number}", person=person,
                    first_name=person.first_names[:150], last_name=person.last_name[:150],
                    email=email, preferred_language=language or settings.LANGUAGE_CODE)
        user.set_unusable_password()
        user.save()
        audit(action=AuditAction.ACCOUNT_CREATED, actor=actor, person=person, subject_user=user)
        return user
    changed = []
    if email and user.email.lower() != email.lower():
        user.email = email
        changed.append("email")
    if language and user.preferred_language != language:
        user.preferred_language = language
        changed.append("preferred_language")
    if changed:
        user.save(update_fields=changed)
    return user


# --- logins -----------------------------------------------------------------------------

def citizen_login(*, request: HttpRequest, user: User, level: AssuranceLevel | int,
                  method: str) -> None:
    """Log the citizen in and remember the level of assurance this login gave."""
    if not user.is_active:
        raise NotAllowed(_("This account is disabled."))
    auth.login(request, user, backend=DIGITAL_KEY_BACKEND
               if method != LoginMethod.OIDC else "identity.backends.FederalOIDCBackend")
    request.session[SESSION_ASSURANCE_KEY] = int(level)
    request.session[SESSION_LOGIN_METHOD_KEY] = str(method)
    audit(action=AuditAction.LOGIN_SUCCESS, actor=user, person=user.person, subject_user=user,
          ip=request.META.get("REMOTE_ADDR"), details={"method": str(method), "level": int(level)})


def citizen_logout(*, request: HttpRequest) -> None:
    user = request.user if request.user.is_authenticated else None
    if user is not None:
        audit(action=AuditAction.LOGOUT, actor=user, subject_user=user,
              ip=request.META.get("REMOTE_ADDR"))
    auth.logout(request)


def login_failed(*, method: str, ip: str | None, user: User | None = None,
                 reason: str = "", details: dict[str, Any] | None = None) -> None:
    audit(action=AuditAction.LOGIN_FAILURE, subject_user=user, ip=ip,
          details={"method": str(method), "reason": reason, **(details or {})})


def staff_password_checked(*, request: HttpRequest | None, username: str,
                           user: User | None, reason: str = "") -> None:
    """The audit trace of a staff password login (the first step; the second factor is
    audited on its own). Called by identity.backends.StaffPasswordBackend."""
    ip = request.META.get("REMOTE_ADDR") if request is not None else None
    if user is None:
        login_failed(method="password", ip=ip, reason=reason or "wrong_password",
                     user=User.objects.filter(username=username).first())
        return
    audit(action=AuditAction.LOGIN_SUCCESS, actor=user, subject_user=user, ip=ip,
          details={"method": "password", "second_factor": "pending"})


def _citizen_by_email(email: str) -> User | None:
    users = list(User.objects.filter(email__iexact=(email or "").strip(), person__isnull=False,
                                     is_active=True)[:2])
    return users[0] if len(users) == 1 else None


def _active_keys(user: User, kind: str):
    return DigitalKey.objects.filter(user=user, kind=kind, revoked_at__isnull=True)


# e-mail one-time codes

def email_challenge_send(*, user: User, purpose: str, ip: str | None = None) -> EmailChallenge:
    """A fresh 6-digit code by e-mail; earlier codes of the same purpose stop working."""
    with transaction.atomic():
        now = timezone.now()
        EmailChallenge.objects.filter(user=user, purpose=purpose, used_at__isnull=True).update(
            used_at=now)
        code = codes.new_email_otp()
        challenge = EmailChallenge.objects.create(
            user=user, purpose=purpose, code_digest=codes.digest(code, purpose="email-otp"),
            created_at=now,
            expires_at=now + datetime.timedelta(minutes=settings.IDENTITY_EMAIL_OTP_MINUTES))
        transaction.on_commit(lambda: emails.send_email_code(user=user, code=code,
                                                             purpose=purpose))
    return challenge


def email_challenge_verify(*, challenge_id: int | None, user: User, code: str,
                           purpose: str) -> EmailChallenge:
    """Check an e-mailed code. Wrong tries are counted (committed even though we raise);
    the code is burnt after IDENTITY_EMAIL_OTP_MAX_TRIES or on success."""
    failure: ValidationFailed | None = None
    with transaction.atomic():
        challenge = (EmailChallenge.objects.select_for_update()
                     .filter(pk=challenge_id, user=user, purpose=purpose).first()
                     if challenge_id else None)
        if challenge is None or challenge.used_at is not None:
            raise ValidationFailed(_("This code is no longer valid. Ask for a new code."),
                                   code="otp_invalid", details={"code": [
                                       _("This code is no longer valid. Ask for a new code.")]})
        if challenge.expires_at <= timezone.now():
            msg = _("This code has expired (codes are valid for %(minutes)s minutes). Ask for "
                    "a new code.") % {"minutes": settings.IDENTITY_EMAIL_OTP_MINUTES}
            raise ValidationFailed(msg, code="otp_expired", details={"code": [msg]})
        typed = "".join(ch for ch in (code or "") if ch.isdigit())
        if codes.matches(typed, challenge.code_digest, purpose="email-otp"):
            challenge.used_at = timezone.now()
            challenge.save(update_fields=["used_at"])
            return challenge
        challenge.attempts += 1
        if challenge.attempts >= settings.IDENTITY_EMAIL_OTP_MAX_TRIES:
            challenge.used_at = timezone.now()
            msg = _("Too many wrong codes. Ask for a new code.")
            failure = ValidationFailed(msg, code="otp_locked", details={"code": [msg]})
        else:
            msg = _("This code is not correct.")
            failure = ValidationFailed(msg, code="otp_wrong", details={"code": [msg]})
        challenge.save(update_fields=["attempts", "used_at"])
    raise failure


def login_email_start(*, email: str, ip: str | None = None) -> tuple[User | None,
                                                                       EmailChallenge | None]:
    """Send a login code when the address belongs to a citizen with an e-mail key. The
    caller says the same thing either way, so the page does not reveal who has an account."""
    user = _citizen_by_email(email)
    if user is None or not _active_keys(user, KeyKind.EMAIL_OTP).exists():
        login_failed(method=LoginMethod.EMAIL_OTP, ip=ip, reason="unknown_address")
        return None, None
    return user, email_challenge_send(user=user, purpose="login", ip=ip)


def login_email_finish(*, request: HttpRequest, user: User | None, challenge_id: int | None,
                       code: str) -> User:
    ip = request.META.get("REMOTE_ADDR")
    if user is None:
        login_failed(method=LoginMethod.EMAIL_OTP, ip=ip, reason="no_challenge")
        msg = _("This code is not correct.")
        raise ValidationFailed(msg, code="otp_wrong", details={"code": [msg]})
    try:
        email_challenge_verify(challenge_id=challenge_id, user=user, code=code, purpose="login")
    except ValidationFailed as exc:
        login_failed(method=LoginMethod.EMAIL_OTP, ip=ip, user=user, reason=exc.code)
        raise
    key = _active_keys(user, KeyKind.EMAIL_OTP).first()
    if key is None:  # revoked meanwhile
        raise NotAllowed(_("This digital key has been revoked."))
    with transaction.atomic():
        DigitalKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
        citizen_login(request=request, user=user, level=KEY_ASSURANCE[KeyKind.EMAIL_OTP],
                      method=LoginMethod.EMAIL_OTP)
    return user


# authenticator app (TOTP)

def totp_new_secret() -> str:
    return pyotp.random_base32()


def totp_provisioning_uri(*, secret: str, user: User) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email or user.username,
                                               issuer_name=settings.OTP_TOTP_ISSUER)


def _totp_match(secret: str, code: str, *, after_counter: int) -> int | None:
    """The time step the code belongs to (now, or one step either side for clock drift),
    when it is later than the last step used: a code cannot be replayed."""
    totp = pyotp.TOTP(secret)
    typed = "".join(ch for ch in (code or "") if ch.isdigit())
    if len(typed) != totp.digits:
        return None
    now = timezone.now()
    current = totp.timecode(now)
    for counter in (current - 1, current, current + 1):
        if counter > after_counter and constant_time_compare(totp.generate_otp(counter),
                                                                   typed):
            return counter
    return None


def login_totp(*, request: HttpRequest, email: str, code: str) -> User:
    ip = request.META.get("REMOTE_ADDR")
    user = _citizen_by_email(email)
    msg = _("The e-mail address or the code is not correct.")
    if user is not None:
        with transaction.atomic():
            for key in _active_keys(user, KeyKind.TOTP).select_for_update():
                counter = _totp_match(key.totp_secret, code, after_counter=key.totp_last_counter)
                if counter is not None:
                    key.totp_last_counter = counter
                    key.last_used_at = timezone.now()
                    key.save(update_fields=["totp_last_counter", "last_used_at"])
                    citizen_login(request=request, user=user,
                                  level=KEY_ASSURANCE[KeyKind.TOTP], method=LoginMethod.TOTP)
                    return user
    login_failed(method=LoginMethod.TOTP, ip=ip, user=user, reason="wrong_code")
    raise ValidationFailed(msg, code="totp_wrong", details={"code": [msg]})


# passkeys (WebAuthn)

def passkey_registration_options(*, user: User, rp_id: str) -> tuple[str, bytes]:
    """Options for navigator.credentials.create(), as JSON, and the challenge to keep."""
    existing = [PublicKeyCredentialDescriptor(id=bytes(k.credential_id))
                for k in _active_keys(user, KeyKind.PASSKEY) if k.credential_id]
    options = generate_registration_options(
        rp_id=rp_id, rp_name=settings.IDENTITY_WEBAUTHN_RP_NAME,
        user_name=user.email or user.username, user_id=str(user.pk).encode(),
        user_display_name=user.get_full_name() or user.username,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED),
        exclude_credentials=existing)
    return options_to_json(options), options.challenge


def passkey_authentication_options(*, rp_id: str) -> tuple[str, bytes]:
    options = generate_authentication_options(
        rp_id=rp_id, user_verification=UserVerificationRequirement.REQUIRED)
    return options_to_json(options), options.challenge


def login_passkey(*, request: HttpRequest, credential: str, challenge: bytes | None,
                  rp_id: str, origin: str) -> User:
    ip = request.META.get("REMOTE_ADDR")
    msg = _("This passkey could not be verified. Try again or use another key.")
    try:
        raw_id = json.loads(credential).get("rawId") or json.loads(credential).get("id")
    except (ValueError, AttributeError):
        raw_id = None
    key = (DigitalKey.objects.select_related("user")
           .filter(kind=KeyKind.PASSKEY, revoked_at__isnull=True,
                   credential_id_b64=raw_id or "").first() if raw_id else None)
    if key is None or challenge is None:
        login_failed(method=LoginMethod.PASSKEY, ip=ip, reason="unknown_credential")
        raise ValidationFailed(msg, code="passkey_failed")
    try:
        verified = verify_authentication_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp_id,
            expected_origin=origin, credential_public_key=bytes(key.public_key or b""),
            credential_current_sign_count=key.sign_count, require_user_verification=True)
    except (InvalidAuthenticationResponse, ValueError, KeyError, TypeError) as exc:
        login_failed(method=LoginMethod.PASSKEY, ip=ip, user=key.user, reason=str(exc)[:200])
        raise ValidationFailed(msg, code="passkey_failed") from exc
    with transaction.atomic():
        DigitalKey.objects.filter(pk=key.pk).update(sign_count=verified.new_sign_count,
                                                    last_used_at=timezone.now())
        citizen_login(request=request, user=key.user, level=KEY_ASSURANCE[KeyKind.PASSKEY],
                      method=LoginMethod.PASSKEY)
    return key.user


# --- digital keys -----------------------------------------------------------------------

def _key_name(name: str, default: str) -> str:
    name = " ".join((name or "").split())[:80]
    return name or default


def _key_created(key: DigitalKey, ip: str | None) -> DigitalKey:
    audit(action=AuditAction.KEY_CREATED, actor=key.user, subject_user=key.user,
          person=key.user.person, ip=ip, details={"key": key.pk, "kind": key.kind})
    return key


@transaction.atomic
def key_create_email_otp(*, user: User, challenge_id: int | None, code: str,
                         ip: str | None = None) -> DigitalKey:
    """The e-mail key proves the citizen reads the account's address: created once the code
    sent to it comes back. One such key per account."""
    email_challenge_verify(challenge_id=challenge_id, user=user, code=code, purpose="enrol")
    existing = _active_keys(user, KeyKind.EMAIL_OTP).first()
    if existing:
        return existing
    key = DigitalKey.objects.create(user=user, kind=KeyKind.EMAIL_OTP,
                                    name=_("Code by e-mail to %(email)s") % {"email": user.email})
    return _key_created(key, ip)


@transaction.atomic
def key_create_totp(*, user: User, secret: str, code: str, name: str = "",
                    ip: str | None = None) -> DigitalKey:
    """Created once the app shows a correct code: the secret was scanned properly."""
    try:
        counter = _totp_match(secret, code, after_counter=-1) if secret else None
    except (ValueError, TypeError):  # a tampered secret
        counter = None
    if counter is None:
        msg = _("This code is not correct. Check the time on your phone and type the code "
                "the app shows now.")
        raise ValidationFailed(msg, code="totp_wrong", details={"code": [msg]})
    key = DigitalKey.objects.create(user=user, kind=KeyKind.TOTP, totp_secret=secret,
                                    totp_last_counter=counter,
                                    name=_key_name(name, _("Authenticator app")))
    return _key_created(key, ip)


@transaction.atomic
def key_create_passkey(*, user: User, credential: str, challenge: bytes | None, rp_id: str,
                       origin: str, name: str = "", ip: str | None = None) -> DigitalKey:
    msg = _("The passkey could not be registered. Try again.")
    if challenge is None:
        raise ValidationFailed(msg, code="passkey_failed")
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp_id,
            expected_origin=origin, require_user_verification=True)
    except (InvalidRegistrationResponse, ValueError, KeyError, TypeError) as exc:
        raise ValidationFailed(msg, code="passkey_failed") from exc
    cred_b64 = bytes_to_base64url(verified.credential_id)
    if DigitalKey.objects.filter(credential_id_b64=cred_b64).exists():
        raise Conflict(_("This passkey is already registered."))
    key = DigitalKey.objects.create(
        user=user, kind=KeyKind.PASSKEY, name=_key_name(name, _("Passkey")),
        credential_id=verified.credential_id, credential_id_b64=cred_b64,
        public_key=verified.credential_public_key, sign_count=verified.sign_count)
    return _key_created(key, ip)


def _own_key(key: DigitalKey, user: User) -> DigitalKey:
    locked = DigitalKey.objects.select_for_update().filter(pk=key.pk, user=user).first()
    if locked is None:
        raise NotFound(_("This digital key does not exist."))
    if locked.revoked_at:
        raise Conflict(_("This digital key has been revoked."))
    return locked


@transaction.atomic
def key_rename(*, key: DigitalKey, user: User, name: str, ip: str | None = None) -> DigitalKey:
    key = _own_key(key, user)
    name = " ".join((name or "").split())
    if not name or len(name) > 80:
        msg = _("Give the key a name of 1 to 80 characters.")
        raise ValidationFailed(msg, details={"name": [msg]})
    old = key.name
    key.name = name
    key.save(update_fields=["name"])
    audit(action=AuditAction.KEY_RENAMED, actor=user, subject_user=user, person=user.person,
          ip=ip, details={"key": key.pk, "from": old, "to": name})
    return key


@transaction.atomic
def key_revoke(*, key: DigitalKey, user: User, ip: str | None = None) -> DigitalKey:
    key = _own_key(key, user)
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    audit(action=AuditAction.KEY_REVOKED, actor=user, subject_user=user, person=user.person,
          ip=ip, details={"key": key.pk, "kind": key.kind})
    return key


# --- staff ------------------------------------------------------------------------------
# Staff log in with a password (identity.backends.StaffPasswordBackend) and then a second
# factor from django-otp: an authenticator app (TOTPDevice) and one-time backup codes
# (StaticDevice). identity.middleware keeps the back office closed until the session is
# verified; a staff member with no confirmed device is sent to enrol one first.

def _otp_token(token: str) -> str:
    return "".join((token or "").split()).lower()


# A backup code is kept as 16 hex characters of an HMAC keyed by the site's secret (what
# django-otp's StaticToken has room for), never as typed: the codes are short (40 random
# bits), so a copy of the database must not give them away, and an unkeyed hash of so
# short a code would be reversed in seconds. The keys of SECRET_KEY_FALLBACKS are tried
# too, so a rotated secret keeps the codes working until the fallbacks are dropped.
_BACKUP_CODE_SALT = "guichet.identity.backup-code"


def backup_code_digests(code: str) -> list[str]:
    """The stored forms of `code`: under SECRET_KEY first, then under each fallback key."""
    code = _otp_token(code)
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [salted_hmac(_BACKUP_CODE_SALT, code, secret=key,
                        algorithm="sha256").hexdigest()[:16] for key in keys]


def _match_second_factor(user: User, token: str) -> Any:
    """django_otp.match_token, except that a backup-code device is given the stored form
    of the code: the authenticator app, then the backup codes, each with django-otp's own
    throttling and single use. None when nothing matches."""
    token = _otp_token(token)
    digests = backup_code_digests(token)
    with transaction.atomic():
        for device in devices_for_user(user, for_verify=True):
            candidate = token
            if isinstance(device, StaticDevice):
                candidate = (device.token_set.filter(token__in=digests)
                             .values_list("token", flat=True).first() or digests[0])
            if device.verify_token(candidate):
                return device
    return None


def staff_second_factor(*, request: HttpRequest, token: str) -> bool:
    """Verify a staff member's TOTP or backup code (django-otp) and mark the session."""
    from django_otp import login as otp_login

    user = cast(User, request.user)  # the view lets only authenticated staff in
    ip = request.META.get("REMOTE_ADDR")
    device = _match_second_factor(user, token)
    if device is None:
        audit(action=AuditAction.STAFF_VERIFY_FAILED, actor=user, subject_user=user, ip=ip)
        return False
    otp_login(request, device)
    audit(action=AuditAction.STAFF_VERIFIED, actor=user, subject_user=user, ip=ip,
          details={"device": device.persistent_id})
    return True


def _require_staff(user: User) -> None:
    if not is_staff_member(user) or user.person_id is not None:
        raise NotAllowed(_("Only staff accounts have a second factor."))


def staff_totp_enrolment(*, user: User) -> TOTPDevice:
    """The authenticator being set up by a staff member who has no confirmed second factor.

    The same unconfirmed device is returned on every visit, so a QR code scanned before a
    reload still gives valid codes. It gives no access until confirmed with a code."""
    _require_staff(user)
    if has_second_factor(user):
        raise Conflict(_("Your second factor is already set up."), code="already_enrolled")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=_("Authenticator app"),
                                           confirmed=False)
    return device


def _wait_message(device: TOTPDevice) -> str | None:
    """django-otp slows down guessing (1, 2, 4, ... seconds after each wrong code)."""
    allowed, _info = device.verify_is_allowed()
    if allowed:
        return None
    return _("Too many wrong codes in a row. Wait a few seconds, then type the code the app "
             "shows now.")


def _new_backup_codes(user: User) -> list[str]:
    """Replace the staff member's backup codes. The codes are shown once; only their
    digests are kept (backup_code_digests), each deleted when used."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=_("Backup codes"), confirmed=True)
    tokens = [StaticToken.random_token() for _i in range(STAFF_BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=backup_code_digests(t)[0])
                                     for t in tokens])
    return tokens


def staff_totp_confirm(*, request: HttpRequest, code: str) -> list[str]:
    """Confirm the authenticator being set up with a code it shows: the device becomes the
    staff member's second factor, the session is verified, and fresh backup codes are
    returned (to show once). A wrong code is counted by django-otp's throttle and audited
    (committed before the error is raised)."""
    from django_otp import login as otp_login

    user = cast(User, request.user)
    ip = request.META.get("REMOTE_ADDR")
    _require_staff(user)
    with transaction.atomic():
        device = (TOTPDevice.objects.select_for_update()
                  .filter(user=user, confirmed=False).order_by("pk").first())
        if has_second_factor(user):
            raise Conflict(_("Your second factor is already set up."), code="already_enrolled")
        if device is None:
            msg = _("The set-up has expired. Scan the new QR code and try again.")
            raise ValidationFailed(msg, code="enrolment_missing", details={"code": [msg]})
        wait = _wait_message(device)
        if wait is None and device.verify_token(_otp_token(code)):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=user, confirmed=False).delete()
            backup_codes = _new_backup_codes(user)
            audit(action=AuditAction.STAFF_ENROLLED, actor=user, subject_user=user, ip=ip,
                  details={"device": device.persistent_id,
                           "backup_codes": len(backup_codes)})
            otp_login(request, device)
            return backup_codes
        audit(action=AuditAction.STAFF_VERIFY_FAILED, actor=user, subject_user=user, ip=ip,
              details={"step": "enrolment", "throttled": wait is not None})
    msg = wait or _("This code is not correct. Check the time on your phone and type the "
                    "code the app shows now.")
    raise ValidationFailed(msg, code="totp_wrong", details={"code": [msg]})


def _confirm_with_code(*, user: User, token: str, ip: str | None) -> None:
    """A fresh code from the authenticator (or a backup code) before changing the second
    factor itself: a session left open is not enough to replace it."""
    if _match_second_factor(user, token) is None:
        audit(action=AuditAction.STAFF_VERIFY_FAILED, actor=user, subject_user=user, ip=ip,
              details={"step": "confirm_change"})
        msg = _("This code is not correct.")
        raise ValidationFailed(msg, code="otp_wrong", details={"token": [msg]})


def staff_backup_codes_renew(*, user: User, token: str, ip: str | None = None) -> list[str]:
    """New backup codes for a staff member (the old ones stop working), shown once."""
    _require_staff(user)
    if not has_second_factor(user):
        raise Conflict(_("Set up your second factor first."), code="not_enrolled")
    _confirm_with_code(user=user, token=token, ip=ip)
    with transaction.atomic():
        backup_codes = _new_backup_codes(user)
        audit(action=AuditAction.STAFF_BACKUP_CODES, actor=user, subject_user=user, ip=ip,
              details={"backup_codes": len(backup_codes)})
    return backup_codes


@transaction.atomic
def _second_factor_delete(*, actor: User, user: User, ip: str | None, reason: str) -> None:
    devices = [d.persistent_id for d in devices_for_user(user, confirmed=None)]
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    audit(action=AuditAction.STAFF_RESET, actor=actor, subject_user=user, ip=ip,
          details={"devices": devices, "reason": reason})


def staff_second_factor_reset_own(*, user: User, token: str, ip: str | None = None) -> None:
    """A staff member drops their authenticator and backup codes (a new phone): the open
    session stops being verified and they set up a new one before the back office opens."""
    _require_staff(user)
    _confirm_with_code(user=user, token=token, ip=ip)
    _second_factor_delete(actor=user, user=user, ip=ip, reason="own")


def staff_second_factor_reset(*, manager: User, user: User, ip: str | None = None) -> None:
    """The municipal access manager resets another staff member's second factor (a lost
    phone and no backup code left): at their next login they set up a new one. Their open
    sessions stop being verified at once. Superusers are reset only by a superuser."""
    if not can_manage_access(manager):
        raise NotAllowed(_("Only a municipal access manager may reset a second factor."))
    if user.person_id is not None or not is_staff_member(user):
        raise NotAllowed(_("Only staff accounts have a second factor."))
    if user.pk == manager.pk:
        raise NotAllowed(_("Reset your own second factor from your second-factor page."))
    if user.is_superuser and not manager.is_superuser:
        raise NotAllowed(_("The second factor of an administrator can only be reset by "
                           "another administrator."))
    _second_factor_delete(actor=manager, user=user, ip=ip, reason="access_manager")


@transaction.atomic
def role_set(*, manager: User, user: User, group_name: str, granted: bool,
             ip: str | None = None) -> None:
    """The municipal access manager grants or withdraws the officer role."""
    if not can_manage_access(manager):
        raise NotAllowed(_("Only a municipal access manager may grant roles."))
    if group_name not in GRANTABLE_GROUPS:
        raise NotAllowed(_("This role cannot be granted here."))
    if user.person_id is not None or not user.is_active:
        raise NotAllowed(_("Roles are granted to active staff accounts only."))
    group, _created = Group.objects.get_or_create(name=group_name)
    if granted:
        user.groups.add(group)
    else:
        user.groups.remove(group)
    audit(action=AuditAction.ROLE_GRANTED if granted else AuditAction.ROLE_WITHDRAWN,
          actor=manager, subject_user=user, ip=ip, details={"role": group_name})


def lra_person_viewed(*, officer: User, person: Person, ip: str | None = None) -> None:
    """Opening a register entry is a consultation: audited like a search."""
    _require_officer(officer)
    audit(action=AuditAction.REGISTER_VIEW, actor=officer, person=person, ip=ip)
