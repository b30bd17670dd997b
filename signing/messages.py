"""What the verification page and API tell the visitor, per result, in their language."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from signing.constants import VerificationResult

# result -> (headline, explanation); "good" results are shown as success, the rest as errors.
MESSAGES = {
    VerificationResult.AUTHENTIC: (
        _("Authentic document"),
        _("This document was issued and sealed by the City of Brussels, has not been changed "
          "since, and has not been revoked.")),
    VerificationResult.REVOKED: (
        _("Revoked document"),
        _("This document was issued by the City of Brussels but has since been revoked. It is "
          "no longer valid.")),
    VerificationResult.UNKNOWN_CODE: (
        _("Unknown code"),
        _("No document with this verification code was issued by the City of Brussels. Check "
          "that you typed the code exactly as printed.")),
    VerificationResult.INVALID_CODE: (
        _("This is not a verification code"),
        _("A verification code has 20 letters and digits (2 to 7), in groups of four, for "
          "example ABCD-EFGH-IJKL-MNOP-QRST.")),
    VerificationResult.NOT_PDF: (
        _("This file is not a PDF"),
        _("Upload the PDF document exactly as you received it.")),
    VerificationResult.DAMAGED: (
        _("This PDF cannot be read"),
        _("The file is damaged or incomplete. Upload the PDF document exactly as you "
          "received it.")),
    VerificationResult.NO_SIGNATURE: (
        _("No electronic seal"),
        _("This PDF carries no electronic seal or signature. It was not issued by the City "
          "of Brussels in this form (a scan or a printout saved as PDF cannot be verified "
          "this way: use the verification code instead).")),
    VerificationResult.ALTERED: (
        _("Altered document"),
        _("The electronic seal of this PDF does not match its content: the document was "
          "changed after it was sealed. Do not rely on it.")),
    VerificationResult.MODIFIED: (
        _("Content added after sealing"),
        _("The seal is intact but content was added to the PDF after it was sealed. Only "
          "the sealed version can be relied on; ask the holder for the original file.")),
    VerificationResult.NOT_OURS: (
        _("Not sealed by the City of Brussels"),
        _("This PDF is signed, but not with the electronic seal of the City of Brussels.")),
    VerificationResult.CERTIFICATE_REVOKED: (
        _("Seal certificate revoked"),
        _("The certificate used to seal this PDF has been revoked. Do not rely on it.")),
    VerificationResult.UNKNOWN_DOCUMENT: (
        _("Seal valid, document unknown"),
        _("The seal belongs to the City of Brussels, but this exact file is not one of the "
          "documents we issued. Ask the holder for the original file.")),
    VerificationResult.TOO_LARGE: (
        _("File too large"),
        _("The file is larger than the documents we issue. Upload the PDF exactly as you "
          "received it.")),
}

GOOD_RESULTS = frozenset({VerificationResult.AUTHENTIC})


def headline(result: str) -> str:
    return str(MESSAGES[result][0])


def explanation(result: str) -> str:
    return str(MESSAGES[result][1])

MESSAGES_RATE_LIMITED = _("Too many checks in a short time. Please wait a minute and try "
                          "again.")
