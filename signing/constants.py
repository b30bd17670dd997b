from django.db import models
from django.utils.translation import gettext_lazy as _

# Verification codes: 100 random bits from `secrets`, base32 (no 0/1/8/9 confusion), shown in
# groups of four. The issue asks for at least 80 bits; never derived from ids or time.
VERIFICATION_CODE_BYTES = 13  # 104 bits -> 21 base32 characters, we keep 20 (100 bits)
VERIFICATION_CODE_LENGTH = 20
VERIFICATION_CODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


class DocumentTemplate(models.TextChoices):
    """Layouts of issued documents; each procedure maps to one (see signing.render)."""

    HOUSEHOLD_COMPOSITION = "household_composition", _("household composition")
    RESIDENCE = "residence", _("main residence")
    RESIDENCE_HISTORY = "residence_history", _("main residence with address history")
    POPULATION = "population", _("population certificate")
    CIVIL_STATUS = "civil_status", _("civil status extract")
    CRIMINAL_RECORD = "criminal_record", _("extract from the criminal record")
    PERMIT = "permit", _("permit")
    PARENTAL_AUTHORISATION = "parental_authorisation", _("parental authorisation")
    GENERIC = "generic", _("document")


class SealLevel(models.TextChoices):
    """PAdES baseline level the document was sealed at."""

    B_B = "B-B", "PAdES B-B"
    B_T = "B-T", "PAdES B-T"
    B_LT = "B-LT", "PAdES B-LT"


class VerificationMethod(models.TextChoices):
    CODE = "code", _("verification code")
    UPLOAD = "upload", _("uploaded PDF")


class VerificationChannel(models.TextChoices):
    PAGE = "page", _("web page")
    API = "api", _("API")


class VerificationResult(models.TextChoices):
    """The answer given to a visitor, one per check (logged in VerificationCheck)."""

    AUTHENTIC = "authentic", _("authentic")
    REVOKED = "revoked", _("revoked")
    UNKNOWN_CODE = "unknown_code", _("unknown code")
    INVALID_CODE = "invalid_code", _("malformed code")
    NOT_PDF = "not_pdf", _("not a PDF")
    DAMAGED = "damaged", _("damaged PDF")
    NO_SIGNATURE = "no_signature", _("no electronic seal")
    ALTERED = "altered", _("altered after sealing")
    MODIFIED = "modified", _("content added after sealing")
    NOT_OURS = "not_ours", _("sealed by someone else")
    CERTIFICATE_REVOKED = "certificate_revoked", _("seal certificate revoked")
    UNKNOWN_DOCUMENT = "unknown_document", _("valid seal but not a document we issued")
    TOO_LARGE = "too_large", _("file too large")


class CitizenSignatureState(models.TextChoices):
    SIGNED = "signed", _("signed")
    FAILED = "failed", _("failed")
