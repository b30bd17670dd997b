"""Writes of the signing app: issuing, revoking and verifying sealed documents, and citizens'
own signatures through a remote CSC service."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from catalogue.constants import Category
from core.errors import Conflict, NotAllowed, ValidationFailed
from core.i18n import localized_value
from core.roles import in_group
from signing import backends, pdf_seal
from signing.constants import (
    VERIFICATION_CODE_ALPHABET,
    VERIFICATION_CODE_BYTES,
    VERIFICATION_CODE_LENGTH,
    CitizenSignatureState,
    DocumentTemplate,
    SealLevel,
    VerificationChannel,
    VerificationMethod,
    VerificationResult,
)
from signing.models import CitizenSignature, DocumentEvent, IssuedDocument, VerificationCheck
from signing.render import AddressPeriod, PersonFacts, RenderInput, render_document

if TYPE_CHECKING:
    from crm.models import Case
    from identity.models import Person, User

logger = logging.getLogger("signing")

# --- verification codes ------------------------------------------------------------------


def new_verification_code() -> str:
    """100 random bits, base32: unguessable and never sequential."""
    raw = base64.b32encode(secrets.token_bytes(VERIFICATION_CODE_BYTES)).decode("ascii")
    return raw[:VERIFICATION_CODE_LENGTH]


def normalize_code(raw: str | None) -> str | None:
    """The stored form of a typed code (case, spaces and dashes ignored), or None when it
    cannot be one of ours."""
    if not raw:
        return None
    code = "".join(ch for ch in str(raw).upper() if ch not in " -\t\r\n.")
    if len(code) != VERIFICATION_CODE_LENGTH:
        return None
    if any(ch not in VERIFICATION_CODE_ALPHABET for ch in code):
        return None
    return code


def format_code(code: str) -> str:
    """Groups of four for reading aloud and typing: ABCD-EFGH-IJKL-MNOP-QRST."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


# --- what each procedure's document looks like -------------------------------------------

# Procedure codes of the catalogue (catalogue/data/procedures.json) -> layout.
TEMPLATE_BY_PROCEDURE: dict[str, str] = {
    "household-composition": DocumentTemplate.HOUSEHOLD_COMPOSITION,
    "main-residence": DocumentTemplate.RESIDENCE,
    "main-residence-history": DocumentTemplate.RESIDENCE_HISTORY,
    "criminal-record": DocumentTemplate.CRIMINAL_RECORD,
    "street-artist-permit": DocumentTemplate.PERMIT,
    "resident-parking-card": DocumentTemplate.PERMIT,
    "parental-authorisation": DocumentTemplate.PARENTAL_AUTHORISATION,
}
TEMPLATE_BY_CATEGORY: dict[str, str] = {
    Category.POPULATION: DocumentTemplate.POPULATION,
    Category.CIVIL_STATUS: DocumentTemplate.CIVIL_STATUS,
    Category.JUSTICE: DocumentTemplate.CRIMINAL_RECORD,
    Category.PERMITS: DocumentTemplate.PERMIT,
}
# Procedures whose document the citizen signs after issue (through the CSC service).
CITIZEN_SIGNED_PROCEDURES = frozenset({"parental-authorisation"})
# Permits run one year from their start date unless the form says otherwise (the city's
# street-artist and resident-card regulations both grant yearly permits).
PERMIT_VALIDITY_DAYS = 365
# Form answers that steer the document itself rather than being printed on it.
_NOT_PRINTED = frozenset({"document_language", "copies", "rules_accepted", "purpose"})


def template_for(procedure: Any) -> str:
    return TEMPLATE_BY_PROCEDURE.get(
        procedure.code, TEMPLATE_BY_CATEGORY.get(procedure.category, DocumentTemplate.GENERIC))


def requires_citizen_signature(procedure: Any) -> bool:
    return procedure.code in CITIZEN_SIGNED_PROCEDURES


def _document_language(case: Case) -> str:
    wanted = (case.data or {}).get("document_language")
    if wanted in settings.LANGUAGE_CODES:
        return str(wanted)
    return case.language if case.language in settings.LANGUAGE_CODES else settings.LANGUAGE_CODE


def _format_number(person: Person) -> str:
    from stdnum.be import bis, nn

    try:
        return bis.format(person.number) if person.number_kind == "bis" else nn.format(
            person.number)
    except Exception:  # a malformed synthetic number is still printed as stored
        return person.number


def _person_facts(person: Person) -> PersonFacts:
    return PersonFacts(
        full_name=person.full_name,
        number=_format_number(person),
        birth_date=person.birth_date,
        birth_place=person.birth_place,
        gender=str(person.get_gender_display()),
        nationality=person.nationality,
        civil_state=str(person.get_civil_state_display()),
        address=str(person.address) if person.address_id else "",
        is_household_head=person.is_household_head,
        deceased=person.deceased,
    )


def _parse_date(value: Any) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _answer_rows(procedure: Any, data: dict[str, Any], language: str) -> list[tuple[str, str]]:
    from django.utils import formats

    from catalogue.forms_schema import field_label

    schema = procedure.form_schema or {}
    properties = schema.get("properties", {})
    rows: list[tuple[str, str]] = []
    for name, spec in properties.items():
        if name in _NOT_PRINTED or name not in data or data[name] in (None, "", []):
            continue
        value = data[name]
        enum_labels = spec.get("x-enum-labels") or {}
        if isinstance(value, bool):
            text = _("yes") if value else _("no")
        elif isinstance(value, list):
            text = ", ".join(localized_value(enum_labels.get(v), language) or str(v)
                             for v in value)
        elif str(value) in enum_labels:
            text = localized_value(enum_labels[str(value)], language) or str(value)
        elif spec.get("format") == "date" and _parse_date(value):
            text = formats.date_format(_parse_date(value), "DATE_FORMAT")
        else:
            text = str(value)
        rows.append((field_label(schema, name, language), text))
    return rows


def _purpose(procedure: Any, data: dict[str, Any], language: str) -> str:
    value = data.get("purpose")
    if not value:
        return ""
    spec = (procedure.form_schema or {}).get("properties", {}).get("purpose", {})
    labels = spec.get("x-enum-labels") or {}
    return localized_value(labels.get(str(value)), language) or str(value)


def _validity(template: str, data: dict[str, Any], today: dt.date
              ) -> tuple[dt.date | None, dt.date | None]:
    if template == DocumentTemplate.PARENTAL_AUTHORISATION:
        return (_parse_date(data.get("departure_date")) or today,
                _parse_date(data.get("return_date")))
    if template == DocumentTemplate.PERMIT:
        start = max(_parse_date(data.get("start_date")) or today, today)
        return start, start + dt.timedelta(days=PERMIT_VALIDITY_DAYS)
    return None, None


def verify_url(code: str, language: str) -> str:
    with translation.override(language):
        path = reverse("signing:verify")
    return f"{settings.SITE_URL.rstrip('/')}{path}?code={code}"


def build_render_input(*, case: Case, code: str, issued_at: dt.datetime) -> RenderInput:
    """Everything a document shows, read from the case and the register."""
    procedure = case.procedure
    person = case.person
    language = _document_language(case)
    template = template_for(procedure)
    data = case.data or {}
    household: list[PersonFacts] = []
    if template == DocumentTemplate.HOUSEHOLD_COMPOSITION and person.household_id:
        members = person.household.members.filter(deceased=False).order_by(
            "-is_household_head", "birth_date", "pk").select_related("address")
        household = [_person_facts(m) for m in members]
    history: list[AddressPeriod] | None = None
    if template == DocumentTemplate.RESIDENCE_HISTORY and person.address_id:
        # The register keeps the current address only (identity.Person.address); the
        # history lists what is known.
        history = [AddressPeriod(address=str(person.address))]
    local_issue = timezone.localtime(issued_at)
    valid_from, valid_until = _validity(template, data, local_issue.date())
    with translation.override(language):
        department = str(procedure.get_department_display())
        procedure_name = localized_value(
            {lang: getattr(procedure, f"name_{lang}", "") for lang in settings.LANGUAGE_CODES},
            language) or procedure.code
        rows = _answer_rows(procedure, data, language)
        purpose = _purpose(procedure, data, language)
    return RenderInput(
        template=template, language=language, procedure_code=procedure.code,
        procedure_name=procedure_name, case_reference=case.reference, issued_at=local_issue,
        verification_code=format_code(code), verify_url=verify_url(code, language),
        person=_person_facts(person), household=household, address_history=history,
        data_rows=rows, valid_from=valid_from, valid_until=valid_until,
        department=department, purpose=purpose,
    )


# --- sealing -------------------------------------------------------------------------


def seal_options(language: str) -> pdf_seal.SealOptions:
    config = backends.active_config()
    roots = (backends.trust_roots() if settings.SIGNING_TSA_URL and settings.SIGNING_LTV
             else [])
    with translation.override(language):
        reason = _("Electronic seal of the City of Brussels")
    return pdf_seal.SealOptions(
        reason=reason, location=settings.SIGNING_SEAL_LOCATION,
        tsa_url=settings.SIGNING_TSA_URL, ltv_trust_roots=roots,
        contact_info=config.get("contact_info", ""))


def seal_level() -> str:
    if settings.SIGNING_TSA_URL and settings.SIGNING_LTV and backends.active_config().get(
            "trust_roots"):
        return SealLevel.B_LT
    return SealLevel.B_T if settings.SIGNING_TSA_URL else SealLevel.B_B


def render_and_seal(inp: RenderInput) -> tuple[bytes, pdf_seal.Sealer]:
    pdf = render_document(inp)
    sealer = backends.get_sealer()
    return sealer.seal(pdf, options=seal_options(inp.language)), sealer


# --- issuing -----------------------------------------------------------------------------


class DocumentNotIssuable(Conflict):
    code = "document_not_issuable"


def _issue_key(case: Case) -> str:
    # One document per issue event: crm writes one "document.issue" per case; a revoked
    # document may be reissued, which is a new event.
    generation = IssuedDocument.objects.filter(case=case, revoked=True).count() + 1
    return f"document.issue:{case.pk}:{generation}"


def _notify_case(case: Case, document: IssuedDocument) -> None:
    from crm.services import case_document_issued

    case_document_issued(case=case, document_reference=format_code(
        document.verification_code), actor=None)


@dataclass(frozen=True)
class _Sealed:
    """A document rendered and sealed, not yet recorded."""
    pdf: bytes
    sealer: pdf_seal.Sealer
    inp: RenderInput
    code: str
    issued_at: dt.datetime


def _render_and_seal_for(case: Case) -> _Sealed:
    issued_at = timezone.now()
    code = new_verification_code()
    inp = build_render_input(case=case, code=code, issued_at=issued_at)
    pdf, sealer = render_and_seal(inp)
    return _Sealed(pdf=pdf, sealer=sealer, inp=inp, code=code, issued_at=issued_at)


_CASE_FOR_DOCUMENT = ("procedure", "person", "person__address", "person__household")


def document_issue(*, case: Case | None = None, case_id: int | None = None) -> IssuedDocument:
    """Render, seal and store the case's document (`case`, or the case `case_id`), then tell
    crm it is issued.

    The slow part (render and seal, tens of milliseconds) runs before the transaction that
    records the document, so no row lock (PostgreSQL) or SQLite read snapshot is held
    meanwhile: on SQLite a write from elsewhere during the seal would otherwise make the
    recording fail ("database is locked") and the whole document be made again.

    Idempotent: the recording locks the case row and the issue key is unique, so a retried
    or duplicated task returns the document the first run made instead of making another.
    Raises crm's Case.DoesNotExist for an unknown `case_id`.
    """
    from crm.models import Case as CaseModel
    from crm.workflow import CaseState

    pk = case.pk if case is not None else case_id
    current = CaseModel.objects.select_related(*_CASE_FOR_DOCUMENT).get(pk=pk)
    sealed = None
    # A case with a document in force already has it (only the latest can be unrevoked).
    if current.state == CaseState.APPROVED and not IssuedDocument.objects.filter(
            case_id=pk, revoked=False).exists():
        sealed = _render_and_seal_for(current)
    return _document_record(case_pk=pk, sealed=sealed)


@transaction.atomic
def _document_record(*, case_pk: int, sealed: _Sealed | None) -> IssuedDocument:
    from crm.models import Case as CaseModel
    from crm.workflow import CaseState

    case = (CaseModel.objects.select_for_update(of=("self",))
            .select_related(*_CASE_FOR_DOCUMENT).get(pk=case_pk))
    key = _issue_key(case)
    existing = IssuedDocument.objects.filter(issue_key=key).first()
    if existing is not None:
        if case.state == CaseState.APPROVED:
            _notify_case(case, existing)
        return existing
    if case.state != CaseState.APPROVED:
        raise DocumentNotIssuable(_("This request is not approved: no document can be issued."))
    if sealed is None:  # approved, or its document revoked, since we looked: seal now
        sealed = _render_and_seal_for(case)
    inp, sealer, pdf = sealed.inp, sealed.sealer, sealed.pdf
    document = IssuedDocument(
        case=case, issue_key=key, template=inp.template, language=inp.language,
        size=len(pdf), sha256=hashlib.sha256(pdf).hexdigest(), verification_code=sealed.code,
        seal_level=seal_level(), certificate_subject=sealer.info.subject[:500],
        certificate_issuer=sealer.info.issuer[:500], certificate_serial=sealer.info.serial,
        certificate_sha256=sealer.info.sha256_fingerprint, valid_from=inp.valid_from,
        valid_until=inp.valid_until, issued_at=sealed.issued_at)
    document.file.save(f"{case.reference}.pdf", ContentFile(pdf), save=False)
    try:
        with transaction.atomic():
            document.save()
    except IntegrityError:
        # Another worker won the race (no row lock on SQLite): keep its document.
        document.file.delete(save=False)
        return IssuedDocument.objects.get(issue_key=key)
    DocumentEvent.objects.create(document=document, kind=DocumentEvent.Kind.ISSUED,
                                 at=sealed.issued_at, note=document.seal_level)
    _notify_case(case, document)
    logger.info("document %s issued for case %s (%s)", format_code(sealed.code)[:4] + "-…",
                case.reference, document.seal_level)
    return document


def can_revoke(user: User | None) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return (user.is_superuser or user.has_perm("signing.change_issueddocument")
            or in_group(user, "Case supervisor"))


@transaction.atomic
def document_revoke(*, document: IssuedDocument, actor: User, reason: str) -> IssuedDocument:
    """Withdraw a document: verification answers "revoked" from now on. The file is kept."""
    if not can_revoke(actor):
        raise NotAllowed(_("You are not allowed to revoke documents."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("Give the reason for revoking the document."),
                               details={"reason": [_("This field is required.")]})
    document = IssuedDocument.objects.select_for_update().get(pk=document.pk)
    if document.revoked:
        raise Conflict(_("This document is already revoked."), code="already_revoked")
    now = timezone.now()
    document.revoked = True
    document.revoked_reason = reason[:2000]
    document.revoked_at = now
    document.revoked_by = actor
    document.save(update_fields=["revoked", "revoked_reason", "revoked_at", "revoked_by"])
    DocumentEvent.objects.create(document=document, kind=DocumentEvent.Kind.REVOKED, at=now,
                                 actor=actor, note=reason[:2000])
    logger.info("document of case %s revoked", document.case_id)
    return document


def document_downloaded(*, document: IssuedDocument, user: User) -> None:
    DocumentEvent.objects.create(document=document, kind=DocumentEvent.Kind.DOWNLOADED,
                                 at=timezone.now(), actor=user)


# --- verification ------------------------------------------------------------------------


@dataclass
class VerificationReport:
    result: str
    document: IssuedDocument | None = None
    seal: pdf_seal.SealCheck | None = None
    checked_at: dt.datetime = field(default_factory=timezone.now)
    citizen_signed: bool = False

    @property
    def authentic(self) -> bool:
        return self.result == VerificationResult.AUTHENTIC

    @property
    def code(self) -> str:
        return format_code(self.document.verification_code) if self.document else ""


_SEAL_TO_RESULT = {
    pdf_seal.SealOutcome.NOT_PDF: VerificationResult.NOT_PDF,
    pdf_seal.SealOutcome.DAMAGED: VerificationResult.DAMAGED,
    pdf_seal.SealOutcome.NO_SIGNATURE: VerificationResult.NO_SIGNATURE,
    pdf_seal.SealOutcome.ALTERED: VerificationResult.ALTERED,
    pdf_seal.SealOutcome.MODIFIED_AFTER_SIGNING: VerificationResult.MODIFIED,
    pdf_seal.SealOutcome.UNTRUSTED: VerificationResult.NOT_OURS,
    pdf_seal.SealOutcome.REVOKED_CERTIFICATE: VerificationResult.CERTIFICATE_REVOKED,
}


def _check_pdf(data: bytes) -> pdf_seal.SealCheck:
    return pdf_seal.inspect_pdf(data, trust_roots=backends.trust_roots(),
                                allow_fetching=settings.SIGNING_VALIDATION_FETCH)


def _verify_code(code: str | None) -> VerificationReport:
    normalized = normalize_code(code)
    if normalized is None:
        return VerificationReport(result=VerificationResult.INVALID_CODE)
    document = IssuedDocument.objects.select_related("case", "case__procedure", "case__person") \
        .filter(verification_code=normalized).first()
    if document is None:
        return VerificationReport(result=VerificationResult.UNKNOWN_CODE)
    try:
        with document.file.open("rb") as handle:
            seal = _check_pdf(handle.read())
    except OSError:
        seal = None
    if document.revoked:
        result = VerificationResult.REVOKED
    elif seal is not None and not seal.ok:
        # Our own stored file no longer checks out: say so rather than vouch for it.
        result = _SEAL_TO_RESULT.get(seal.outcome, VerificationResult.ALTERED)
    else:
        result = VerificationResult.AUTHENTIC
    return VerificationReport(result=result, document=document, seal=seal)


def _verify_pdf(data: bytes) -> VerificationReport:
    if len(data) > settings.SIGNING_VERIFY_MAX_UPLOAD_BYTES:
        return VerificationReport(result=VerificationResult.TOO_LARGE)
    seal = _check_pdf(data)
    digest = hashlib.sha256(data).hexdigest()
    document = IssuedDocument.objects.select_related("case", "case__procedure", "case__person") \
        .filter(sha256=digest).first()
    citizen_signed = False
    if document is None:
        signed = CitizenSignature.objects.select_related("document").filter(
            sha256=digest, state=CitizenSignatureState.SIGNED).first()
        if signed is not None and signed.document is not None:
            document, citizen_signed = signed.document, True
    if seal.outcome == pdf_seal.SealOutcome.VALID or (
            citizen_signed and seal.outcome == pdf_seal.SealOutcome.MODIFIED_AFTER_SIGNING
            and seal.intact and seal.trusted):
        if document is None:
            result = VerificationResult.UNKNOWN_DOCUMENT
        elif document.revoked:
            result = VerificationResult.REVOKED
        else:
            result = VerificationResult.AUTHENTIC
    else:
        result = _SEAL_TO_RESULT.get(seal.outcome, VerificationResult.ALTERED)
    return VerificationReport(result=result, document=document, seal=seal,
                              citizen_signed=citizen_signed)


def document_verify(*, code: str | None = None, pdf_bytes: bytes | None = None,
                    channel: str = VerificationChannel.PAGE, language: str = "",
                    client_ip: str | None = None) -> VerificationReport:
    """Answer a verification request (code or uploaded PDF) and log it.

    Never raises on bad input: every file and every string gets an answer.
    """
    if pdf_bytes is not None:
        method = VerificationMethod.UPLOAD
        report = _verify_pdf(pdf_bytes)
    else:
        method = VerificationMethod.CODE
        report = _verify_code(code)
    VerificationCheck.objects.create(
        at=report.checked_at, method=method, channel=channel, result=report.result,
        document=report.document,
        code_prefix=("" if report.document or not code else
                     "".join(ch for ch in str(code) if ch.isalnum())[:4].upper()),
        upload_sha256=hashlib.sha256(pdf_bytes).hexdigest() if pdf_bytes is not None else "",
        upload_size=len(pdf_bytes) if pdf_bytes is not None else None,
        seal_outcome=str(report.seal.outcome) if report.seal else "",
        language=(language or "")[:8], client_ip=client_ip or None)
    return report


def verification_too_large(*, channel: str, language: str, size: int,
                           client_ip: str | None) -> VerificationReport:
    """Log and answer an upload refused before reading it (over the size limit)."""
    report = VerificationReport(result=VerificationResult.TOO_LARGE)
    VerificationCheck.objects.create(
        at=report.checked_at, method=VerificationMethod.UPLOAD, channel=channel,
        result=report.result, upload_size=size, language=(language or "")[:8],
        client_ip=client_ip or None)
    return report


# --- citizens' signatures -----------------------------------------------------------------


class CitizenSignatureFailed(Conflict):
    code = "citizen_signature_failed"
    status = 502


def citizen_sign(*, document: IssuedDocument, citizen: User, credential_id: str,
                 pin: str = "", otp: str = "") -> CitizenSignature:
    """Have the citizen sign the issued document with their remote (CSC) signing credential
    and keep the signed PDF on the case. The city's seal stays intact underneath: the
    citizen's signature is an incremental update."""
    if not settings.SIGNING_CSC_SERVICE_URL:
        raise CitizenSignatureFailed(_("The signing service is not available."))
    case = document.case
    if case.requester_id != citizen.pk:
        raise NotAllowed(_("Only the person who made the request can sign this document."))
    if not requires_citizen_signature(case.procedure):
        raise Conflict(_("This document does not need your signature."), code="not_required")
    if document.revoked:
        raise Conflict(_("This document was revoked."), code="revoked")
    if not credential_id.strip():
        raise ValidationFailed(_("Choose your signing credential."),
                               details={"credential_id": [_("This field is required.")]})
    if CitizenSignature.objects.filter(document=document,
                                       state=CitizenSignatureState.SIGNED).exists():
        raise Conflict(_("You have already signed this document."), code="already_signed")
    with document.file.open("rb") as handle:
        pdf = handle.read()
    with translation.override(document.language):
        reason = _("Signed by the parent or guardian")
    now = timezone.now()
    try:
        signed, signer = pdf_seal.remote_sign(pdf, request=pdf_seal.RemoteSignatureRequest(
            service_url=settings.SIGNING_CSC_SERVICE_URL, credential_id=credential_id.strip(),
            oauth_token=settings.SIGNING_CSC_OAUTH_TOKEN, pin=pin, otp=otp, reason=reason,
            location=settings.SIGNING_SEAL_LOCATION, timeout_seconds=settings.SIGNING_CSC_TIMEOUT))
    except pdf_seal.SealError as exc:
        logger.warning("citizen signature for case %s failed: %s", case.reference, exc)
        CitizenSignature.objects.create(
            case=case, document=document, signer=citizen, state=CitizenSignatureState.FAILED,
            credential_id=credential_id.strip()[:200], error=str(exc)[:2000], signed_at=now)
        raise CitizenSignatureFailed(
            _("The signing service did not sign the document. Please try again.")) from exc
    with transaction.atomic():
        record = CitizenSignature(
            case=case, document=document, signer=citizen, state=CitizenSignatureState.SIGNED,
            sha256=hashlib.sha256(signed).hexdigest(), credential_id=credential_id.strip()[:200],
            certificate_subject=signer.subject[:500], certificate_serial=signer.serial,
            certificate_sha256=signer.sha256_fingerprint, signed_at=now)
        record.file.save(f"{case.reference}-signed.pdf", ContentFile(signed), save=False)
        record.save()
        DocumentEvent.objects.create(document=document, kind=DocumentEvent.Kind.CITIZEN_SIGNED,
                                     at=now, actor=citizen, note=signer.subject[:500])
    return record
