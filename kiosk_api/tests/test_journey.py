"""The whole terminal journey, with every part real on loopback: a citizen inserts the eID
card (test PKI), requests a paying certificate, pays on the terminal's payment device
(localstripe: a card-present PaymentIntent with manual capture, authorised with a test card as
the reader would, captured when the terminal polls), the terminal
polls the payment until the case moves on, the document is rendered and sealed by the signing
app (PKCS#12 seal key made here), the terminal downloads the sealed PDF, prints it and
acknowledges the print — counted once for the terminal."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
from cryptography.x509.oid import NameOID

from crm.models import Case
from kiosk_api import demo_pki as pki
from kiosk_api import selectors
from kiosk_api.models import PrintAck
from payments import stripe_api
from payments.tests.conftest import card_token


@pytest.fixture
def seal_key(tmp_path, settings):
    """A city seal certificate under a test CA, as the PKCS#12 file the signing app loads."""
    root = pki.make_root("Test City Root CA")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "BE"),
                                     x509.NameAttribute(NameOID.COMMON_NAME, "Test City Seal")]))
            .issuer_name(root.name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False,
                                         False), critical=True)
            .sign(root.key, hashes.SHA256()))
    path = tmp_path / "seal.p12"
    path.write_bytes(pkcs12.serialize_key_and_certificates(
        b"seal", key, cert, [root.cert], BestAvailableEncryption(b"test-only")))
    settings.SIGNING_SEAL_BACKEND = "pkcs12"
    settings.SIGNING_PKCS12_PATH = str(path)
    settings.SIGNING_PKCS12_PASSPHRASE = "test-only"
    settings.SIGNING_TSA_URL = ""
    settings.SIGNING_CHAIN_PATHS = []
    root_path = tmp_path / "city-root.pem"
    root_path.write_bytes(root.pem)
    settings.SIGNING_TRUST_ROOTS = [str(root_path)]
    return path


@pytest.mark.django_db(transaction=True)
def test_terminal_journey_eid_submit_pay_print(kiosk, citizen, card, household_certificate,
                                               localstripe, stripe_settings, seal_key):
    household_certificate.fee_kiosk = 500
    household_certificate.save()

    # 1. the card opens a session
    token = kiosk.open_session(card)

    # 2. a paying certificate request
    response = kiosk.call("post", "requests/", session=token, data={
        "procedure": "household-composition", "data": {"purpose": "school enrolment"}})
    assert response.status_code == 201, response.json()
    case = response.json()
    assert case["state"] == "awaiting_payment" and case["payment_due"] is True
    assert case["fee_cents"] == 500

    # 3. pay on the terminal's device, polling the status as the terminal does
    started = kiosk.call("post", f"cases/{case['reference']}/payment/", session=token)
    assert started.status_code == 201, started.json()
    payment = started.json()
    assert payment["state"] == "pending" and payment["amount_cents"] == 500
    assert payment["provider_reference"].startswith("pi_") and payment["client_secret"]
    polled = kiosk.call("get", f"cases/{case['reference']}/payment/", session=token)
    assert polled.json()["state"] == "pending"
    # the card reader authorises the card: the money is held, not yet taken
    stripe_api.confirm_with_card_token(intent_id=payment["provider_reference"],
                                       token=card_token(localstripe),
                                       idempotency_key="journey-device")
    assert stripe_api.retrieve_intent(payment["provider_reference"]).status == "requires_capture"
    polled = kiosk.call("get", f"cases/{case['reference']}/payment/", session=token)
    assert polled.status_code == 200 and polled.json()["state"] == "succeeded"
    assert stripe_api.retrieve_intent(payment["provider_reference"]).status == "succeeded"

    # 4. the case moved on: paid, approved, the sealed document issued, case closed
    assert Case.objects.get(reference=case["reference"]).state == "closed"
    detail = kiosk.call("get", f"cases/{case['reference']}/", session=token).json()
    assert detail["state"] == "closed" and detail["payment_due"] is False
    documents = kiosk.call("get", "documents/", session=token).json()["results"]
    assert len(documents) == 1 and documents[0]["case_reference"] == case["reference"]
    code = documents[0]["code"]

    # 5. download the sealed PDF and print it
    pdf = kiosk.call("get", f"documents/{code}/pdf/", session=token)
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    body = b"".join(pdf.streaming_content)
    assert body.startswith(b"%PDF") and b"/ByteRange" in body  # a signed PDF
    from signing.services import document_verify

    assert document_verify(pdf_bytes=body).result == "authentic"

    # 6. acknowledge the print, twice (a retry): counted once
    assert kiosk.call("post", f"documents/{code}/printed/", session=token).status_code == 201
    assert kiosk.call("post", f"documents/{code}/printed/", session=token).status_code == 200
    assert PrintAck.objects.count() == 1
    row = next(r for r in selectors.terminal_statistics() if r["terminal"] == kiosk.terminal)
    assert row["requests_started"] == 1 and row["documents_delivered"] == 1

    # 7. the citizen leaves
    assert kiosk.call("delete", "session/", session=token).status_code == 204
    assert kiosk.call("get", "documents/", session=token).status_code == 401
