"""The whole terminal journey, with every part real on loopback: a citizen inserts the eID
card (test PKI), requests a paying certificate, pays on the terminal's payment device
(localstripe: a PaymentIntent confirmed with a test card, as the device would), the terminal
polls the payment until the case moves on, the document is rendered and sealed by the signing
app (PKCS#12 seal key made here), the terminal downloads the sealed PDF, prints it and
acknowledges the print — counted once for the terminal."""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import sys
import urllib.request

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
from payments.devstripe import wait_until_up


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def localstripe():
    """localstripe (GPL-3) as its own process, never imported."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        if not wait_until_up(base, timeout=30):
            pytest.fail("localstripe did not start")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


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


def _card_token(base: str) -> str:
    """What the payment device does with the card: tokenise it (test card 4242...)."""
    data = (b"card[number]=4242424242424242&card[exp_month]=12&card[exp_year]=2034"
            b"&card[cvc]=123&key=pk_test_guichet")
    request = urllib.request.Request(f"{base}/v1/tokens", data=data, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["id"]


@pytest.mark.django_db(transaction=True)
def test_terminal_journey_eid_submit_pay_print(kiosk, citizen, card, household_certificate,
                                               localstripe, seal_key, settings):
    settings.STRIPE_API_BASE = localstripe
    settings.STRIPE_SECRET_KEY = "sk_test_guichet"
    settings.STRIPE_PUBLISHABLE_KEY = "pk_test_guichet"
    settings.STRIPE_PAYMENT_METHOD_TYPES = ["card"]
    settings.CELERY_TASK_ALWAYS_EAGER = True
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
    stripe_api.confirm_with_card_token(intent_id=payment["provider_reference"],
                                       token=_card_token(localstripe),
                                       idempotency_key="journey-device")
    polled = kiosk.call("get", f"cases/{case['reference']}/payment/", session=token)
    assert polled.status_code == 200 and polled.json()["state"] == "succeeded"

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
