from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from signing.constants import (
    CitizenSignatureState,
    DocumentTemplate,
    SealLevel,
    VerificationChannel,
    VerificationMethod,
    VerificationResult,
)


def document_path(instance: IssuedDocument, filename: str) -> str:
    # A random name: the verification code must not be guessable from storage paths.
    return f"signing/documents/{instance.issued_at:%Y/%m}/{uuid.uuid4().hex}.pdf"


def citizen_signature_path(instance: CitizenSignature, filename: str) -> str:
    return f"signing/citizen-signatures/{instance.signed_at:%Y/%m}/{uuid.uuid4().hex}.pdf"


class IssuedDocument(models.Model):
    """A sealed PDF issued for a case: the exact bytes we delivered, their hash, the code
    printed on them and the certificate that sealed them. Never deleted; revoked instead."""

    case = models.ForeignKey("crm.Case", on_delete=models.PROTECT, related_name="documents",
                             verbose_name=_("case"))
    # One document per issue event: a retried or duplicated task finds this row and stops.
    issue_key = models.CharField(_("issue event"), max_length=100, unique=True)
    template = models.CharField(_("template"), max_length=32, choices=DocumentTemplate.choices)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    file = models.FileField(_("file"), upload_to=document_path, max_length=255)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True)
    verification_code = models.CharField(_("verification code"), max_length=32, unique=True)
    seal_level = models.CharField(_("seal level"), max_length=8, choices=SealLevel.choices)
    certificate_subject = models.CharField(_("seal certificate"), max_length=500)
    certificate_issuer = models.CharField(_("certificate issuer"), max_length=500)
    certificate_serial = models.CharField(_("certificate serial number"), max_length=100)
    certificate_sha256 = models.CharField(_("certificate fingerprint (SHA-256)"),
                                          max_length=64)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    issued_at = models.DateTimeField(_("issued at"))
    revoked = models.BooleanField(_("revoked"), default=False)
    revoked_reason = models.TextField(_("reason for revocation"), blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+",
                                   verbose_name=_("revoked by"))

    class Meta:
        verbose_name = _("issued document")
        verbose_name_plural = _("issued documents")
        ordering = ["-issued_at", "-id"]
        indexes = [models.Index(fields=["case", "issued_at"], name="signing_doc_case")]

    def __str__(self) -> str:
        code = "-".join(self.verification_code[i:i + 4]
                        for i in range(0, len(self.verification_code), 4))
        return f"{self.get_template_display()} ({code})"


class DocumentEvent(models.Model):
    """Audit trail of a document: issued, downloaded, revoked."""

    class Kind(models.TextChoices):
        ISSUED = "issued", _("issued")
        DOWNLOADED = "downloaded", _("downloaded")
        REVOKED = "revoked", _("revoked")
        CITIZEN_SIGNED = "citizen_signed", _("signed by the citizen")

    document = models.ForeignKey(IssuedDocument, on_delete=models.CASCADE,
                                 related_name="events")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    at = models.DateTimeField(_("at"))
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("document event")
        verbose_name_plural = _("document events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.at:%Y-%m-%d %H:%M}"


class VerificationCheck(models.Model):
    """One check on the public verification page or API, whatever its answer."""

    at = models.DateTimeField(_("at"), db_index=True)
    method = models.CharField(_("method"), max_length=8, choices=VerificationMethod.choices)
    channel = models.CharField(_("channel"), max_length=8, choices=VerificationChannel.choices)
    result = models.CharField(_("result"), max_length=24, choices=VerificationResult.choices)
    document = models.ForeignKey(IssuedDocument, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="checks")
    # A code typed that matched nothing is kept truncated: enough to spot guessing, not to
    # replay it.
    code_prefix = models.CharField(_("code (first characters)"), max_length=8, blank=True)
    upload_sha256 = models.CharField(max_length=64, blank=True)
    upload_size = models.PositiveIntegerField(null=True, blank=True)
    seal_outcome = models.CharField(_("seal check"), max_length=32, blank=True)
    language = models.CharField(_("language"), max_length=8, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        verbose_name = _("verification check")
        verbose_name_plural = _("verification checks")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.result}"


class CitizenSignature(models.Model):
    """A PDF the citizen signed through a remote (CSC) signing service, kept on the case."""

    case = models.ForeignKey("crm.Case", on_delete=models.PROTECT,
                             related_name="citizen_signatures", verbose_name=_("case"))
    document = models.ForeignKey(IssuedDocument, null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="citizen_signatures")
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    state = models.CharField(_("state"), max_length=16, choices=CitizenSignatureState.choices)
    file = models.FileField(_("signed file"), upload_to=citizen_signature_path, max_length=255,
                            blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    credential_id = models.CharField(_("signing credential"), max_length=200)
    certificate_subject = models.CharField(_("signer certificate"), max_length=500, blank=True)
    certificate_serial = models.CharField(max_length=100, blank=True)
    certificate_sha256 = models.CharField(max_length=64, blank=True)
    error = models.TextField(_("error"), blank=True)
    signed_at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("citizen signature")
        verbose_name_plural = _("citizen signatures")
        ordering = ["-signed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.state}"
