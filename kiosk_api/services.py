"""Writes of the terminal channel. Keyword-only, atomic, raising kiosk_api.errors (codes)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from catalogue.constants import Channel
from core.errors import ValidationFailed
from core.logging import get_logger
from identity.constants import AssuranceLevel
from kiosk_api import eid, errors, selectors, shared_cache
from kiosk_api.constants import (
    DeviceStatus,
    PaperLevel,
    SessionEndReason,
    SessionMethod,
    TerminalEventKind,
    TerminalState,
)
from kiosk_api.models import (
    KioskRequest,
    KioskSession,
    PrintAck,
    SessionNonce,
    Terminal,
    TerminalCredential,
    TerminalEvent,
    TerminalHeartbeat,
)

log = get_logger(__name__)

NONCE_BYTES = 32
# Refresh last_activity_at at most this often: a write per API call would double the load of
# a busy terminal for a precision nobody needs (the idle timeout counts in minutes).
ACTIVITY_GRANULARITY = timedelta(seconds=5)
HEARTBEAT_RETENTION = timedelta(days=30)


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# --- terminals ------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedCredential:
    credential: TerminalCredential
    secret: str

    @property
    def authorization(self) -> str:
        """The header value the terminal sends: shown once, never stored."""
        return f"Terminal {self.credential.key_id}:{self.secret}"


@transaction.atomic
def terminal_register(*, code: str, branch: str, location: str, actor: Any,
                      stripe_location: str = "") -> tuple[Terminal, IssuedCredential]:
    terminal = Terminal.objects.create(code=code, branch=branch, location=location,
                                       stripe_location=stripe_location)
    TerminalEvent.objects.create(terminal=terminal, actor=actor,
                                 kind=TerminalEventKind.REGISTERED,
                                 details={"branch": branch, "location": location,
                                          "stripe_location": stripe_location})
    return terminal, terminal_credential_issue(terminal=terminal, actor=actor)


@transaction.atomic
def terminal_credential_issue(*, terminal: Terminal, actor: Any) -> IssuedCredential:
    """A new credential for the terminal; the previous ones stop working at once."""
    now = timezone.now()
    revoked = list(terminal.credentials.filter(revoked_at__isnull=True)
                   .values_list("key_id", flat=True))
    terminal.credentials.filter(revoked_at__isnull=True).update(revoked_at=now)
    _credentials_forget(revoked)
    for key_id in revoked:
        TerminalEvent.objects.create(terminal=terminal, actor=actor,
                                     kind=TerminalEventKind.CREDENTIAL_REVOKED,
                                     details={"key_id": key_id})
    secret = secrets.token_urlsafe(32)
    credential = TerminalCredential.objects.create(
        terminal=terminal, key_id=f"kt{secrets.token_hex(8)}", secret_sha256=sha256_hex(secret),
        created_by=actor if getattr(actor, "pk", None) else None)
    TerminalEvent.objects.create(terminal=terminal, actor=actor,
                                 kind=TerminalEventKind.CREDENTIAL_ISSUED,
                                 details={"key_id": credential.key_id})
    return IssuedCredential(credential=credential, secret=secret)


# Verified credentials are kept in the shared cache by key id: the digest to compare and the
# terminal's identity fields, so an authenticated call costs one cache read instead of a
# query. Every change that must refuse a terminal at once (revoked credential, disabled
# terminal) deletes the entry in the same service; the expiry is only a safety net.
CREDENTIAL_CACHE_SECONDS = 300
_CACHED_TERMINAL_FIELDS = ("id", "code", "branch", "location", "state")


def credential_cache_key(key_id: str) -> str:
    return f"kiosk:credential:{key_id}"


def _credentials_forget(key_ids: list[str]) -> None:
    """Drop cached credentials now and again at commit (a call authenticated meanwhile may
    have cached the row as it was before this transaction)."""
    keys = [credential_cache_key(k) for k in key_ids]
    if keys:
        transaction.on_commit(lambda: shared_cache.delete_many(keys))
        shared_cache.delete_many(keys)


def terminal_authenticate(*, key_id: str, secret: str) -> Terminal | None:
    """The terminal this credential belongs to, or None. Constant-time comparison of the
    digests (SHA-256 suffices: the secret is 256 random bits, a slow password hash would add
    cost to every call and no security); a disabled terminal is returned and refused by the
    caller with its own code. The terminal carries its identity fields; the others are loaded
    on first use."""
    cache_key = credential_cache_key(key_id)
    entry = shared_cache.get(cache_key)
    if entry is None:
        credential = (TerminalCredential.objects.select_related("terminal")
                      .filter(key_id=key_id, revoked_at__isnull=True).first())
        if credential is None:
            sha256_hex(secret)  # same work as a hit, so timing does not reveal key ids
            return None
        entry = (credential.secret_sha256,
                 [getattr(credential.terminal, f) for f in _CACHED_TERMINAL_FIELDS])
        shared_cache.set(cache_key, entry, CREDENTIAL_CACHE_SECONDS)
    digest, values = entry
    if not hmac.compare_digest(digest, sha256_hex(secret)):
        return None
    return Terminal.from_db("default", _CACHED_TERMINAL_FIELDS, values)


@transaction.atomic
def terminal_update(*, terminal: Terminal, actor: Any, branch: str, location: str,
                    stripe_location: str) -> Terminal:
    """Change where a terminal stands and the Stripe Terminal location of its card reader.
    The terminal's history keeps the old and the new values; nothing changed, nothing
    written. Cached credentials carry the branch and location: they are dropped."""
    terminal = Terminal.objects.select_for_update().get(pk=terminal.pk)
    wanted = {"branch": branch, "location": location, "stripe_location": stripe_location}
    changes = {name: [getattr(terminal, name), value] for name, value in wanted.items()
               if getattr(terminal, name) != value}
    if not changes:
        return terminal
    for name, (_old, value) in changes.items():
        setattr(terminal, name, value)
    terminal.save(update_fields=list(changes))
    TerminalEvent.objects.create(terminal=terminal, actor=actor,
                                 kind=TerminalEventKind.UPDATED, details={"changes": changes})
    _credentials_forget(_active_key_ids(terminal))
    return terminal


def _active_key_ids(terminal: Terminal) -> list[str]:
    return list(terminal.credentials.filter(revoked_at__isnull=True)
                .values_list("key_id", flat=True))


@transaction.atomic
def terminal_disable(*, terminal: Terminal, actor: Any, reason: str = "") -> Terminal:
    terminal = Terminal.objects.select_for_update().get(pk=terminal.pk)
    if terminal.state == TerminalState.DISABLED:
        return terminal
    now = timezone.now()
    terminal.state = TerminalState.DISABLED
    terminal.disabled_at = now
    terminal.save(update_fields=["state", "disabled_at"])
    _credentials_forget(_active_key_ids(terminal))
    open_sessions = terminal.sessions.filter(ended_at__isnull=True)
    _sessions_forget(list(open_sessions.values_list("token_sha256", flat=True)))
    open_sessions.update(ended_at=now, end_reason=SessionEndReason.TERMINAL_DISABLED)
    TerminalEvent.objects.create(terminal=terminal, actor=actor, kind=TerminalEventKind.DISABLED,
                                 details={"reason": reason})
    return terminal


@transaction.atomic
def terminal_enable(*, terminal: Terminal, actor: Any) -> Terminal:
    terminal = Terminal.objects.select_for_update().get(pk=terminal.pk)
    if terminal.state == TerminalState.ACTIVE:
        return terminal
    terminal.state = TerminalState.ACTIVE
    terminal.disabled_at = None
    terminal.save(update_fields=["state", "disabled_at"])
    _credentials_forget(_active_key_ids(terminal))
    TerminalEvent.objects.create(terminal=terminal, actor=actor, kind=TerminalEventKind.ENABLED)
    return terminal


@transaction.atomic
def terminal_heartbeat(*, terminal: Terminal, software_version: str = "",
                       printer_status: str = DeviceStatus.UNKNOWN,
                       paper_level: str = PaperLevel.UNKNOWN,
                       card_reader_status: str = DeviceStatus.UNKNOWN,
                       payment_terminal_status: str = DeviceStatus.UNKNOWN,
                       details: dict | None = None) -> TerminalHeartbeat:
    now = timezone.now()
    # The admin screens show recent beats; older ones only fill the table (15 terminals beating
    # every minute make 8 million rows a year).
    TerminalHeartbeat.objects.filter(
        terminal=terminal, received_at__lt=now - HEARTBEAT_RETENTION).delete()
    beat = TerminalHeartbeat.objects.create(
        terminal=terminal, received_at=now, software_version=software_version,
        printer_status=printer_status, paper_level=paper_level,
        card_reader_status=card_reader_status, payment_terminal_status=payment_terminal_status,
        details=details or {})
    # An empty version keeps the one reported before.
    Terminal.objects.filter(pk=terminal.pk).update(
        last_heartbeat_at=now, printer_status=printer_status, paper_level=paper_level,
        card_reader_status=card_reader_status, payment_terminal_status=payment_terminal_status,
        **({"software_version": software_version} if software_version else {}))
    return beat


# --- citizen sessions ---------------------------------------------------------------------


@transaction.atomic
def nonce_issue(*, terminal: Terminal) -> SessionNonce:
    now = timezone.now()
    # Expired challenges are worthless: drop this terminal's old ones as new ones are asked.
    SessionNonce.objects.filter(terminal=terminal, expires_at__lt=now - timedelta(hours=1)).delete()
    return SessionNonce.objects.create(
        terminal=terminal,
        value=base64.b64encode(secrets.token_bytes(NONCE_BYTES)).decode(),
        created_at=now,
        expires_at=now + timedelta(seconds=settings.KIOSK_NONCE_SECONDS))


def _usable_nonce(*, terminal: Terminal, value: str) -> SessionNonce:
    nonce = SessionNonce.objects.filter(value=value, terminal=terminal).first()
    if nonce is None:  # unknown, or issued to another terminal: same answer
        raise errors.NonceUnknown()
    if nonce.used_at is not None:
        raise errors.NonceUsed()
    if nonce.expires_at <= timezone.now():
        raise errors.NonceExpired()
    return nonce


@dataclass(frozen=True)
class OpenedSession:
    session: KioskSession
    token: str


def _session_create(*, terminal: Terminal, user: Any, method: str, level: int, language: str,
                    fingerprint: str = "") -> OpenedSession:
    now = timezone.now()
    token = secrets.token_urlsafe(32)
    session = KioskSession.objects.create(
        terminal=terminal, token_sha256=sha256_hex(token), user=user, method=method,
        assurance_level=level, language=language, certificate_fingerprint=fingerprint,
        started_at=now, last_activity_at=now)
    TerminalEvent.objects.create(terminal=terminal, kind=TerminalEventKind.SESSION_OPENED,
                                 details={"session": session.pk, "method": method})
    log.info("kiosk.session_opened", terminal=terminal.code, session=session.pk, method=method)
    return OpenedSession(session=session, token=token)


def _citizen_account(number: str) -> Any:
    """The citizen account of the register entry with this number."""
    from identity import selectors as identity_selectors
    from identity import services as identity_services

    person = identity_selectors.register_lookup(number)
    if person is None or person.deceased:
        raise errors.CitizenUnknown()
    user = identity_services.citizen_account_for_person(person=person)
    if not user.is_active:
        raise errors.CitizenUnknown()
    return user


def _language(requested: str | None, user: Any) -> str:
    if requested in settings.LANGUAGE_CODES:
        return str(requested)
    preferred = getattr(user, "preferred_language", "")
    return preferred if preferred in settings.LANGUAGE_CODES else settings.LANGUAGE_CODE


def session_open_with_eid(*, terminal: Terminal, nonce: str, signature: str,
                          certificates: list[str], language: str | None = None) -> OpenedSession:
    """Open a citizen session from the card's signature over a nonce issued to this terminal.

    Nothing is written unless every check passes; the nonce is then consumed in the same
    transaction, so a replay (even a concurrent one) finds it used. Refusals are logged with
    their code (a run of them on one terminal is worth an operator's look).
    """
    try:
        return _session_open_with_eid(terminal=terminal, nonce=nonce, signature=signature,
                                      certificates=certificates, language=language)
    except errors.DomainError as exc:
        log.warning("kiosk.eid_refused", terminal=terminal.code, code=exc.code)
        raise


@transaction.atomic
def _session_open_with_eid(*, terminal: Terminal, nonce: str, signature: str,
                           certificates: list[str], language: str | None) -> OpenedSession:
    record = _usable_nonce(terminal=terminal, value=nonce)
    identity = eid.verify_eid_answer(
        nonce=base64.b64decode(record.value),
        signature=eid.decode_base64(signature, error=errors.SignatureInvalid),
        chain=[eid.decode_base64(c, error=errors.CertificateInvalid) for c in certificates])
    user = _citizen_account(identity.national_number)
    consumed = SessionNonce.objects.filter(pk=record.pk, used_at__isnull=True).update(
        used_at=timezone.now())
    if not consumed:
        raise errors.NonceUsed()
    return _session_create(terminal=terminal, user=user, method=SessionMethod.EID,
                           level=AssuranceLevel.HIGH, language=_language(language, user),
                           fingerprint=identity.certificate_fingerprint)


# Open sessions are kept in the shared cache by token digest (with their citizen), so a call
# in a session costs one cache read instead of a query. session_end and terminal_disable
# delete the entry; the idle clock is written to the row and the entry together.
SESSION_CACHE_SECONDS = 60


def session_cache_key(digest: str) -> str:
    return f"kiosk:session:{digest}"


def _sessions_forget(digests: list[str]) -> None:
    """Drop cached sessions now and again at commit (see _credentials_forget)."""
    keys = [session_cache_key(d) for d in digests]
    if keys:
        transaction.on_commit(lambda: shared_cache.delete_many(keys))
        shared_cache.delete_many(keys)


def session_resume(*, terminal: Terminal, token: str) -> KioskSession:
    """The open session this token names on this terminal; refreshes its idle clock."""
    if not token:
        raise errors.SessionRequired()
    digest = sha256_hex(token)
    cache_key = session_cache_key(digest)
    session = shared_cache.get(cache_key)
    if session is None:
        session = (KioskSession.objects.select_related("user", "user__person")
                   .filter(token_sha256=digest).first())
        if session is None:
            raise errors.SessionError()
        if session.ended_at is None:
            shared_cache.set(cache_key, session, SESSION_CACHE_SECONDS)
    if session.terminal_id != terminal.pk:
        raise errors.SessionWrongTerminal()
    if session.ended_at is not None:
        raise errors.SessionEnded()
    now = timezone.now()
    idle = timedelta(seconds=settings.KIOSK_SESSION_IDLE_SECONDS)
    maximum = timedelta(seconds=settings.KIOSK_SESSION_MAX_SECONDS)
    if session.last_activity_at + idle <= now or session.started_at + maximum <= now:
        reason = (SessionEndReason.IDLE if session.last_activity_at + idle <= now
                  else SessionEndReason.MAXIMUM)
        session_end(session=session, reason=reason)
        raise errors.SessionExpired()
    if now - session.last_activity_at >= ACTIVITY_GRANULARITY:
        KioskSession.objects.filter(pk=session.pk).update(last_activity_at=now)
        session.last_activity_at = now
        shared_cache.set(cache_key, session, SESSION_CACHE_SECONDS)
    return session


@transaction.atomic
def session_end(*, session: KioskSession,
                reason: str = SessionEndReason.EXPLICIT) -> KioskSession:
    now = timezone.now()
    ended = KioskSession.objects.filter(pk=session.pk, ended_at__isnull=True).update(
        ended_at=now, end_reason=reason)
    _sessions_forget([session.token_sha256])
    if ended:
        session.ended_at, session.end_reason = now, reason
        TerminalEvent.objects.create(terminal_id=session.terminal_id,
                                     kind=TerminalEventKind.SESSION_ENDED,
                                     details={"session": session.pk, "reason": reason})
    return session


# --- requests -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AttachmentInput:
    code: str
    filename: str
    content: bytes


@transaction.atomic
def request_submit(*, session: KioskSession, procedure_code: str, data: Any,
                   attachments: list[AttachmentInput] = ()) -> Any:
    """Submit a request for the session's citizen through the one intake service, so the
    terminal gets the same checks and the same errors as the portal."""
    from crm import services as crm_services

    procedure = selectors.procedure_for_request(procedure_code)
    if procedure is None:
        raise errors.ProcedureNotOffered()
    files = [(a.code, SimpleUploadedFile(a.filename, a.content)) for a in attachments]
    case = crm_services.case_submit(
        procedure=procedure, requester=session.user, channel=Channel.KIOSK, data=data,
        attachments=files, language=session.language,
        assurance_level=AssuranceLevel(session.assurance_level))
    KioskRequest.objects.create(terminal_id=session.terminal_id, session=session, case=case,
                                created_at=timezone.now())
    return case


# --- cases and payments -------------------------------------------------------------------


def citizen_case(*, session: KioskSession, reference: str) -> Any:
    """One of the session citizen's own cases (never another's, whatever the account's other
    rights: a staff member at a terminal is a citizen there)."""
    from crm import selectors as crm_selectors

    case = (crm_selectors.cases_of_citizen(session.user).select_related("procedure")
            .filter(reference=str(reference).strip().upper()[:32]).first())
    if case is None:
        raise errors.CaseNotFound()
    return case


def payment_begin(*, session: KioskSession, reference: str) -> Any:
    """Start (or resume) paying a case's fee with the terminal's payment provider: the answer
    carries what the payment device needs (the provider reference and client secret)."""
    from payments import services as payment_services

    case = citizen_case(session=session, reference=reference)
    return payment_services.payment_start(case=case, provider=settings.KIOSK_PAYMENT_PROVIDER)


def payment_poll(*, session: KioskSession, reference: str) -> Any:
    """The latest payment of a case, after asking the provider where it stands (the terminal
    polls while the citizen pays on the device)."""
    from payments import selectors as payment_selectors
    from payments import services as payment_services

    case = citizen_case(session=session, reference=reference)
    payment = payment_selectors.payment_latest_of_case(case)
    if payment is None:
        raise errors.PaymentNotFound()
    return payment_services.payment_sync(payment=payment, source="return")


STRIPE_TERMINAL = "stripe_terminal"


def card_reader_connection_token(*, terminal: Terminal) -> str:
    """A Stripe Terminal connection token for the terminal's card reader SDK, scoped to the
    terminal's Stripe location when it has one. Only when the terminals pay through Stripe
    Terminal (KIOSK_PAYMENT_PROVIDER); Stripe unreachable or refusing: CardReaderUnavailable."""
    from payments import stripe_api

    if settings.KIOSK_PAYMENT_PROVIDER != STRIPE_TERMINAL:
        raise errors.CardReaderNotStripe()
    # The authenticated terminal carries only its identity fields (terminal_authenticate).
    location = (Terminal.objects.filter(pk=terminal.pk)
                .values_list("stripe_location", flat=True).first() or "")
    try:
        secret = stripe_api.create_terminal_connection_token(location=location)
    except (stripe_api.StripeUnavailable, stripe_api.StripeRejected) as exc:
        log.warning("kiosk.connection_token.failed", terminal=terminal.code, error=str(exc))
        raise errors.CardReaderUnavailable() from exc
    if not secret:
        log.warning("kiosk.connection_token.empty", terminal=terminal.code)
        raise errors.CardReaderUnavailable()
    return secret


# --- documents ----------------------------------------------------------------------------


def citizen_document(*, session: KioskSession, code: str) -> Any:
    """One of the session citizen's own issued documents, by its verification code."""
    from core.errors import NotFound
    from signing import selectors as signing_selectors

    try:
        document = signing_selectors.document_by_code(str(code)[:64])
    except NotFound:
        raise errors.DocumentNotFound() from None
    if document.case.requester_id != session.user.pk:
        raise errors.DocumentNotFound()
    return document


def document_for_print(*, session: KioskSession, code: str) -> Any:
    """The sealed PDF to print at the terminal; a revoked document is not printed again."""
    from signing import services as signing_services

    document = citizen_document(session=session, code=code)
    if document.revoked:
        raise errors.DocumentRevoked()
    signing_services.document_downloaded(document=document, user=session.user)
    return document


@transaction.atomic
def print_acknowledge(*, session: KioskSession, code: str) -> tuple[PrintAck, bool]:
    """The terminal says the document came out of its printer. Counted once per document
    and terminal, whatever the number of retries."""
    document = citizen_document(session=session, code=code)
    ack, created = PrintAck.objects.get_or_create(
        terminal_id=session.terminal_id, document_code=document.verification_code,
        defaults={"session": session, "case_id": document.case_id,
                  "printed_at": timezone.now()})
    if created:
        log.info("kiosk.document_printed", terminal=session.terminal_id,
                 case=document.case.reference)
    return ack, created


# --- digital key (e-mailed security code) -----------------------------------------------

CHALLENGE_SALT = "kiosk_api.digital_key"


def digital_key_start(*, terminal: Terminal, email: str) -> str:
    """Send a login code to the citizen's e-mail key. The answer is an opaque challenge bound
    to this terminal, the same whether or not the address has a key (no account probing)."""
    from django.core import signing

    from identity import services as identity_services

    user, challenge = identity_services.login_email_start(email=email, ip=None)
    return signing.dumps({"t": terminal.pk, "u": getattr(user, "pk", 0),
                          "c": getattr(challenge, "pk", 0), "n": secrets.token_hex(4)},
                         salt=CHALLENGE_SALT, compress=True)


def session_open_with_digital_key(*, terminal: Terminal, challenge: str, code: str,
                                  language: str | None = None) -> OpenedSession:
    """Open a session from the e-mailed code of the citizen's digital key (level LOW: the
    procedures that need more ask for the eID card)."""
    from django.core import signing

    from identity import services as identity_services
    from identity.constants import KEY_ASSURANCE, KeyKind
    from identity.models import User

    try:
        data = signing.loads(challenge, salt=CHALLENGE_SALT,
                             max_age=settings.IDENTITY_EMAIL_OTP_MINUTES * 60)
    except signing.BadSignature:
        raise errors.DigitalKeyRefused() from None
    if data.get("t") != terminal.pk:
        raise errors.DigitalKeyRefused()
    user = User.objects.filter(pk=data.get("u") or 0, is_active=True).first()
    if user is None or not data.get("c"):
        raise errors.DigitalKeyRefused()
    try:  # counts wrong tries and burns the code, committed even when refused
        identity_services.email_challenge_verify(challenge_id=data["c"], user=user, code=code,
                                                 purpose="login")
    except ValidationFailed as exc:
        raise errors.DigitalKeyRefused(exc.message) from None
    with transaction.atomic():
        return _session_create(terminal=terminal, user=user, method=SessionMethod.DIGITAL_KEY,
                               level=KEY_ASSURANCE[KeyKind.EMAIL_OTP],
                               language=_language(language, user))
