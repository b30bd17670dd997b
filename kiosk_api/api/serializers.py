"""Input and output shapes of the terminal API (nested, explicit: they are the contract the
terminal software is written against, published as OpenAPI)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalogue.constants import Category, Delivery, WorkflowKind
from identity.constants import AssuranceLevel
from kiosk_api.constants import LANGUAGE_CHOICES, DeviceStatus, PaperLevel

BASE64 = r"^[A-Za-z0-9+/]+={0,2}$"


class ErrorOut(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable error code.")
    detail = serializers.CharField(help_text="Message in the citizen's language.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False,
        help_text="Messages per field, for validation errors.")


# --- terminal -------------------------------------------------------------------------


class TerminalOut(serializers.Serializer):
    code = serializers.CharField()
    branch = serializers.CharField()
    branch_label = serializers.CharField()
    location = serializers.CharField()
    languages = serializers.ListField(child=serializers.ChoiceField(choices=LANGUAGE_CHOICES))
    session_idle_seconds = serializers.IntegerField()
    nonce_seconds = serializers.IntegerField()
    heartbeat_every_seconds = serializers.IntegerField()


class DevicesIn(serializers.Serializer):
    printer = serializers.ChoiceField(choices=DeviceStatus.choices, default=DeviceStatus.UNKNOWN)
    paper = serializers.ChoiceField(choices=PaperLevel.choices, default=PaperLevel.UNKNOWN)
    card_reader = serializers.ChoiceField(choices=DeviceStatus.choices,
                                          default=DeviceStatus.UNKNOWN)
    payment_terminal = serializers.ChoiceField(choices=DeviceStatus.choices,
                                               default=DeviceStatus.UNKNOWN)


class HeartbeatIn(serializers.Serializer):
    software_version = serializers.CharField(max_length=40, allow_blank=True, default="")
    devices = DevicesIn()


class HeartbeatOut(serializers.Serializer):
    received_at = serializers.DateTimeField()
    next_heartbeat_seconds = serializers.IntegerField()


# --- sessions -------------------------------------------------------------------------


class NonceOut(serializers.Serializer):
    nonce = serializers.CharField(help_text="Base64 of the bytes the card must sign.")
    expires_at = serializers.DateTimeField()


class EidSessionIn(serializers.Serializer):
    nonce = serializers.RegexField(BASE64, max_length=64)
    signature = serializers.RegexField(
        BASE64, max_length=2048,
        help_text="Base64 of the card's signature over the nonce bytes with its authentication "
                  "key (RSA PKCS#1 v1.5 SHA-256, or ECDSA SHA-384 raw r||s or DER).")
    certificates = serializers.ListField(
        child=serializers.RegexField(BASE64, max_length=8192), min_length=1, max_length=4,
        help_text="Base64 DER certificates: the authentication certificate first, then the "
                  "citizen CA.")
    language = serializers.ChoiceField(choices=LANGUAGE_CHOICES, required=False)


class DigitalKeyStartIn(serializers.Serializer):
    email = serializers.EmailField(max_length=254)


class DigitalKeyStartOut(serializers.Serializer):
    challenge = serializers.CharField(
        help_text="Send it back with the code the citizen received by e-mail.")


class DigitalKeySessionIn(serializers.Serializer):
    challenge = serializers.CharField(max_length=500)
    code = serializers.RegexField(r"^[0-9 ]{4,12}$")
    language = serializers.ChoiceField(choices=LANGUAGE_CHOICES, required=False)


class CitizenOut(serializers.Serializer):
    first_names = serializers.CharField()
    last_name = serializers.CharField()


class SessionOut(serializers.Serializer):
    method = serializers.CharField()
    assurance_level = serializers.ChoiceField(choices=AssuranceLevel.choices)
    language = serializers.ChoiceField(choices=LANGUAGE_CHOICES)
    started_at = serializers.DateTimeField()
    idle_expires_at = serializers.DateTimeField()
    citizen = CitizenOut()


class OpenedSessionOut(SessionOut):
    token = serializers.CharField(help_text="Send it as the X-Kiosk-Session header.")


# --- procedures -----------------------------------------------------------------------


class AttachmentSpecOut(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    required = serializers.BooleanField()
    content_types = serializers.ListField(child=serializers.CharField())
    max_bytes = serializers.IntegerField(allow_null=True)


class ProcedureOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    summary = serializers.CharField()
    category = serializers.ChoiceField(choices=Category.choices)
    category_label = serializers.CharField()
    workflow_kind = serializers.ChoiceField(choices=WorkflowKind.choices)
    delivery = serializers.ChoiceField(choices=Delivery.choices)
    fee_cents = serializers.IntegerField(min_value=0)
    fee_display = serializers.CharField()
    required_assurance_level = serializers.ChoiceField(choices=AssuranceLevel.choices)
    sla_days = serializers.IntegerField()


class ProcedureDetailOut(ProcedureOut):
    form_schema = serializers.DictField(help_text="JSON Schema of the form (with x-labels).")
    attachments = AttachmentSpecOut(many=True)


# --- requests and cases ---------------------------------------------------------------


class AttachmentIn(serializers.Serializer):
    code = serializers.CharField(max_length=64)
    filename = serializers.CharField(max_length=200)
    content = serializers.RegexField(
        BASE64, help_text="Base64 of the file (scanned at the terminal).")


@extend_schema_field({"type": "object", "additionalProperties": True})
class FormDataField(serializers.JSONField):
    pass


class RequestIn(serializers.Serializer):
    procedure = serializers.RegexField(r"^[a-z0-9][a-z0-9-]*$", max_length=64,
                                       help_text="Code of a procedure offered on terminals.")
    data = FormDataField(required=False, default=dict)
    attachments = AttachmentIn(many=True, required=False, default=list)


class CaseOut(serializers.Serializer):
    reference = serializers.CharField()
    procedure = serializers.CharField(source="procedure.code")
    procedure_name = serializers.CharField(source="procedure.name")
    state = serializers.CharField()
    state_label = serializers.CharField(source="get_state_display")
    fee_cents = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    payment_due = serializers.BooleanField()


_DATETIME = serializers.DateTimeField()


def case_out(case: Any) -> dict[str, Any]:
    """CaseOut(case).data without a serializer instance: DRF deep-copies a serializer's
    fields on every instantiation (a millisecond here), paid on each submit and for each case
    of a page. The test suite checks both give the same answer."""
    return {
        "reference": str(case.reference),
        "procedure": str(case.procedure.code),
        "procedure_name": str(case.procedure.name),
        "state": str(case.state),
        "state_label": str(case.get_state_display()),
        "fee_cents": int(case.fee_cents),
        "created_at": _DATETIME.to_representation(case.created_at),
        "updated_at": _DATETIME.to_representation(case.updated_at),
        "payment_due": case.state == "awaiting_payment",
    }


class CasePageOut(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = CaseOut(many=True)


class PaymentOut(serializers.Serializer):
    provider = serializers.CharField()
    state = serializers.CharField()
    state_label = serializers.CharField(source="get_state_display")
    amount_cents = serializers.IntegerField()
    currency = serializers.CharField()
    provider_reference = serializers.CharField(
        help_text="The provider's payment reference (a Stripe PaymentIntent id).")
    client_secret = serializers.CharField(
        help_text="What the payment device needs to collect the card payment.")
    failure_message = serializers.CharField()


class ConnectionTokenOut(serializers.Serializer):
    secret = serializers.CharField(
        help_text="The Stripe Terminal connection token, for the reader SDK's "
                  "fetchConnectionToken; short-lived, fetch a new one each time the SDK asks.")


class DocumentOut(serializers.Serializer):
    code = serializers.CharField(source="verification_code")
    case_reference = serializers.CharField(source="case.reference")
    procedure_name = serializers.CharField(source="case.procedure.name")
    language = serializers.CharField()
    issued_at = serializers.DateTimeField()
    size = serializers.IntegerField()
    revoked = serializers.BooleanField()


class DocumentPageOut(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = DocumentOut(many=True)


class PrintAckOut(serializers.Serializer):
    code = serializers.CharField(source="document_code")
    case_reference = serializers.CharField(source="case.reference")
    printed_at = serializers.DateTimeField()
