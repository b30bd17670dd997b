"""Domain errors of the terminal API: each a stable machine-readable code (core.errors)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from core.errors import Conflict, DomainError, NotAllowed, NotFound, ValidationFailed


class SessionError(DomainError):
    """The citizen session header is missing, unknown, expired or ended: log in again."""

    status = 401
    code = "session_invalid"
    message = _("Your session is no longer valid. Please insert your card again.")


class SessionRequired(SessionError):
    code = "session_required"
    message = _("A citizen session is required: insert your eID card or use a digital key.")


class SessionExpired(SessionError):
    code = "session_expired"
    message = _("Your session has expired. Please insert your card again.")


class SessionEnded(SessionError):
    code = "session_ended"
    message = _("This session has ended. Please insert your card again.")


class SessionWrongTerminal(NotAllowed):
    code = "session_wrong_terminal"
    message = _("This session was opened on another terminal.")


class NonceError(ValidationFailed):
    code = "nonce_invalid"
    message = _("The card challenge is not valid. Please try again.")


class NonceUnknown(NonceError):
    code = "nonce_unknown"
    message = _("The card challenge is unknown. Please try again.")


class NonceExpired(NonceError):
    code = "nonce_expired"
    message = _("The card challenge has expired. Please try again.")


class NonceUsed(NonceError):
    code = "nonce_used"
    message = _("The card challenge has already been used. Please try again.")


class EidRefused(NotAllowed):
    """The card's answer does not prove who the citizen is."""

    code = "eid_refused"
    message = _("Your card could not be verified.")


class SignatureInvalid(EidRefused):
    code = "signature_invalid"
    message = _("The card signature is not valid.")


class CertificateInvalid(ValidationFailed):
    code = "certificate_invalid"
    message = _("The card certificate could not be read.")


class CertificateUntrusted(EidRefused):
    code = "certificate_untrusted"
    message = _("The card certificate was not issued by a trusted authority.")


class CertificateExpired(EidRefused):
    code = "certificate_expired"
    message = _("The card certificate is expired or not yet valid.")


class CertificateRevoked(EidRefused):
    code = "certificate_revoked"
    message = _("The card certificate has been revoked.")


class NationalNumberInvalid(EidRefused):
    code = "national_number_invalid"
    message = _("The card does not carry a valid national register number.")


class CitizenUnknown(EidRefused):
    code = "citizen_unknown"
    message = _("No citizen record matches this card. Please go to a counter.")


class ProcedureNotOffered(NotFound):
    code = "procedure_not_offered"
    message = _("This procedure is not offered on terminals.")


class DocumentNotFound(NotFound):
    code = "document_not_found"
    message = _("This document does not exist or is not yours.")


class CaseNotFound(NotFound):
    code = "case_not_found"
    message = _("This request does not exist or is not yours.")


class PaymentNotFound(NotFound):
    code = "payment_not_found"
    message = _("No payment has been started for this request.")


class AttachmentUnreadable(ValidationFailed):
    code = "attachment_unreadable"
    message = _("An attached file could not be read (it must be sent in base64).")


class DocumentRevoked(Conflict):
    code = "document_revoked"
    message = _("This document has been revoked and can no longer be printed.")


class EidUnavailable(DomainError):
    """No usable trust anchor is configured (KIOSK_EID_TRUST_ANCHORS): an operator's fix."""

    status = 503
    code = "eid_unavailable"
    message = _("Card login is unavailable on this terminal right now. Please ask staff.")


class DigitalKeyRefused(NotAllowed):
    code = "digital_key_refused"
    message = _("The e-mail address or the code is not correct.")


class CardReaderNotStripe(Conflict):
    """KIOSK_PAYMENT_PROVIDER is not stripe_terminal: the payment device needs no token."""

    code = "card_reader_not_stripe_terminal"
    message = _("The payment device of the terminals is not a Stripe Terminal card reader.")


class CardReaderUnavailable(DomainError):
    """Stripe could not be reached or refused the connection token: try again later."""

    status = 503
    code = "card_reader_unavailable"
    message = _("Card payment is unavailable on this terminal right now. Please try again "
                "in a few minutes.")
