"""Citizens' own signatures through a remote CSC service (certomancer-csc-dummy on loopback)."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse

from core.errors import NotAllowed
from signing import pdf_seal, services
from signing.models import CitizenSignature

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

CREDENTIAL = "guichet/citizen"  # certomancer-csc-dummy: "<architecture>/<certificate>"


@pytest.fixture
def authorisation(seal_pkcs12, approved_case, settings, csc_service):
    settings.SIGNING_CSC_SERVICE_URL = csc_service
    return services.document_issue(case=approved_case("parental-authorisation"))


def test_the_parent_signs_through_the_csc_service_and_the_seal_stays_valid(
        authorisation, citizen, pki):
    record = services.citizen_sign(document=authorisation, citizen=citizen,
                                   credential_id=CREDENTIAL)
    assert record.state == "signed"
    assert "Alice Dupont" in record.certificate_subject
    signed = record.file.read()
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko_certvalidator import ValidationContext

    reader = PdfFileReader(io.BytesIO(signed))
    seal, parent = reader.embedded_signatures
    context = ValidationContext(trust_roots=[pki.cert("root")], allow_fetching=False)
    parent_status = pdf_seal.validate_signature(parent, context)
    assert parent_status.intact and parent_status.valid and parent_status.trusted
    assert parent_status.signing_cert.subject.native["common_name"] == "Alice Dupont (test)"
    seal_status = pdf_seal.validate_signature(seal, context)
    assert seal_status.intact and seal_status.valid  # the city's seal is untouched
    # The verification page recognises the signed copy as our document, signed afterwards.
    report = services.document_verify(pdf_bytes=signed)
    assert report.result == "authentic" and report.citizen_signed


def test_only_the_requester_signs_and_only_once(authorisation, citizen, other_citizen):
    with pytest.raises(NotAllowed):
        services.citizen_sign(document=authorisation, citizen=other_citizen,
                              credential_id=CREDENTIAL)
    services.citizen_sign(document=authorisation, citizen=citizen, credential_id=CREDENTIAL)
    with pytest.raises(services.Conflict):
        services.citizen_sign(document=authorisation, citizen=citizen,
                              credential_id=CREDENTIAL)


def test_an_unknown_credential_is_a_clear_failure_and_is_recorded(authorisation, citizen):
    with pytest.raises(services.CitizenSignatureFailed):
        services.citizen_sign(document=authorisation, citizen=citizen,
                              credential_id="guichet/nobody")
    assert CitizenSignature.objects.get().state == "failed"


def test_the_signing_page_works_for_the_parent(client, authorisation, citizen):
    url = reverse("signing:citizen_sign", args=[authorisation.verification_code])
    client.force_login(citizen)
    assert client.get(url).status_code == 200
    response = client.post(url, {"credential_id": CREDENTIAL})
    assert response.status_code == 302
    assert CitizenSignature.objects.filter(state="signed").count() == 1
    response = client.post(url, {"credential_id": ""})
    assert response.status_code == 400


def test_documents_that_need_no_signature_have_no_signing_page(client, seal_pkcs12,
                                                              approved_case, citizen):
    document = services.document_issue(case=approved_case("life"))
    client.force_login(citizen)
    url = reverse("signing:citizen_sign", args=[document.verification_code])
    assert client.get(url).status_code == 404
    assert pdf_seal  # the remote signer lives in pdf_seal, like every pyHanko call
