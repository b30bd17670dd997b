"""The public verification page and API: codes, uploads, bad files, revocation, limits."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from signing import backends, pdf_seal, services
from signing.models import VerificationCheck
from signing.tests.conftest import PKCS12_PASSPHRASE
from signing.tests.test_seal import OPTIONS, _pdf

pytestmark = pytest.mark.django_db


@pytest.fixture
def issued(seal_pkcs12, approved_case):
    return services.document_issue(case=approved_case("household-composition"))


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def _upload(client, data: bytes, *, name="document.pdf", language="fr"):
    return client.post(reverse("signing:verify") if language == "fr" else
                       f"/{language}/verify/",
                       {"action": "upload", "u-file": SimpleUploadedFile(name, data)})


def _result(response) -> str | None:
    import re

    match = re.search(rb'data-result="([a-z_]+)"', response.content)
    return match.group(1).decode() if match else None


def test_the_page_is_public_and_accessible(client):
    response = client.get("/fr/verify/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<label for="id_c-code">' in html and '<label for="id_u-file">' in html
    assert 'lang="fr"' in html and "<main" in html


def test_a_valid_code_says_authentic_in_the_visitors_language(client, issued):
    code = services.format_code(issued.verification_code)
    response = client.post("/nl/verify/", {"action": "code", "c-code": code.lower()})
    assert response.status_code == 200
    assert _result(response) == "authentic"
    assert "Echt document" in response.content.decode()
    check = VerificationCheck.objects.get()
    assert check.result == "authentic" and check.document == issued and check.method == "code"
    assert check.language == "nl" and check.seal_outcome == "valid"


def test_the_qr_link_checks_the_code_at_once(client, issued):
    response = client.get(f"/de/verify/?code={issued.verification_code}")
    assert _result(response) == "authentic"
    assert "Echtes Dokument" in response.content.decode()


def test_unknown_and_malformed_codes_get_clear_answers(client, issued):
    response = client.post("/fr/verify/", {"action": "code", "c-code": "AAAA-BBBB-CCCC-DDDD-EEEE"})
    assert _result(response) == "unknown_code"
    response = client.post("/fr/verify/", {"action": "code", "c-code": "<script>1</script>"})
    assert _result(response) == "invalid_code"
    assert "<script>1" not in response.content.decode()
    response = client.post("/fr/verify/", {"action": "code", "c-code": ""})
    assert response.status_code == 400
    assert VerificationCheck.objects.filter(result="unknown_code", code_prefix="AAAA").exists()


def test_the_issued_pdf_uploaded_is_authentic(client, issued):
    response = _upload(client, issued.file.read())
    assert _result(response) == "authentic"
    check = VerificationCheck.objects.get()
    assert check.method == "upload" and check.upload_sha256 == issued.sha256


def test_a_revoked_document_shows_as_revoked(client, issued, staff_supervisor):
    services.document_revoke(document=issued, actor=staff_supervisor, reason="Wrong address")
    assert _result(client.get(f"/fr/verify/?code={issued.verification_code}")) == "revoked"
    response = _upload(client, issued.file.read())
    assert _result(response) == "revoked"
    assert "révoqué" in response.content.decode()


def test_a_one_byte_change_in_the_uploaded_pdf_is_detected(client, issued):
    data = bytearray(issued.file.read())
    position = data.index(b"stream") + 40
    data[position] ^= 0x01
    assert _result(_upload(client, bytes(data))) in ("altered", "damaged")


@pytest.mark.parametrize("payload, expected", [
    (b"PK\x03\x04 this is a zip file", "not_pdf"),
    (b"", None),
    (b"%PDF-1.7\n garbage garbage", "damaged"),
])
def test_bad_uploads_get_a_clear_answer_never_a_500(client, seal_pkcs12, payload, expected):
    response = _upload(client, payload)
    assert response.status_code in (200, 400)
    assert _result(response) == expected


def test_a_pdf_without_signature(client, seal_pkcs12):
    assert _result(_upload(client, _pdf())) == "no_signature"


def test_a_pdf_sealed_by_someone_else(client, seal_pkcs12, pki):
    with pdf_seal.Sealer.from_pkcs12(
            data=Path(pki.write_pkcs12("signer", arch="stranger")).read_bytes(),
            passphrase=PKCS12_PASSPHRASE.encode()) as stranger:
        sealed = stranger.seal(_pdf(), options=OPTIONS)
    assert _result(_upload(client, sealed)) == "not_ours"


def test_a_valid_city_seal_on_a_file_we_did_not_issue(client, seal_pkcs12):
    sealed = backends.get_sealer().seal(_pdf(), options=OPTIONS)
    assert _result(_upload(client, sealed)) == "unknown_document"


def test_uploads_over_the_limit_are_refused_and_logged(client, seal_pkcs12, settings):
    settings.SIGNING_VERIFY_MAX_UPLOAD_BYTES = 1000
    response = _upload(client, b"%PDF-1.7\n" + b"0" * 2000)
    assert response.status_code == 413
    assert _result(response) == "too_large"
    assert VerificationCheck.objects.get().result == "too_large"


def test_checks_are_rate_limited_per_visitor(client, seal_pkcs12, settings):
    settings.SIGNING_VERIFY_RATE = "3/m"
    for _ in range(3):
        assert client.post("/fr/verify/", {"action": "code", "c-code": "x"}).status_code == 200
    response = client.post("/fr/verify/", {"action": "code", "c-code": "x"})
    assert response.status_code == 429
    assert VerificationCheck.objects.count() == 3
    # Browsing the empty page is not a check and stays available.
    assert client.get("/fr/verify/").status_code == 200


# --- API ----------------------------------------------------------------------------------

def test_api_verifies_a_code_without_login(client, issued):
    response = client.post("/api/verify/v1/", data=json.dumps(
        {"code": issued.verification_code}), content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 200
    body = response.json()
    assert body["result"] == "authentic" and body["authentic"] is True
    assert body["headline"] == "Echtes Dokument"
    assert body["seal"]["trusted"] and body["seal"]["intact"]
    assert body["document"]["revoked"] is False
    assert VerificationCheck.objects.get().channel == "api"


def test_api_verifies_an_uploaded_pdf(client, issued):
    response = client.post("/api/verify/v1/", {"file": io.BytesIO(issued.file.read())})
    assert response.status_code == 200 and response.json()["result"] == "authentic"
    response = client.post("/api/verify/v1/", {"file": SimpleUploadedFile("x.pdf", b"nope")})
    assert response.json()["result"] == "not_pdf"


def test_api_refuses_bad_requests_with_a_machine_code(client, seal_pkcs12, settings):
    response = client.post("/api/verify/v1/", data="{}", content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    response = client.post("/api/verify/v1/", data="not json", content_type="application/json")
    assert response.status_code == 400
    settings.SIGNING_VERIFY_RATE = "1/m"
    client.post("/api/verify/v1/", data=json.dumps({"code": "x"}),
                content_type="application/json")
    response = client.post("/api/verify/v1/", data=json.dumps({"code": "x"}),
                           content_type="application/json")
    assert response.status_code == 429 and response.json()["code"] == "rate_limited"


def test_the_api_is_in_the_openapi_schema(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert "/api/verify/v1/" in response.content.decode()


# --- download -----------------------------------------------------------------------------

def test_only_the_owner_and_staff_who_see_the_case_download(client, issued, citizen,
                                                           other_citizen):
    url = reverse("signing:download", args=[issued.verification_code])
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(other_citizen)
    assert client.get(url).status_code == 404
    client.force_login(citizen)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == issued.file.open("rb").read()
    assert issued.events.filter(kind="downloaded", actor=citizen).exists()
