"""The citizen's documents at the terminal: list, PDF for printing, printed acknowledgement.

The IssuedDocument rows here are made directly with a small PDF body: what is tested is the
terminal side (ownership, revocation, counting); the real sealing runs in test_journey.py.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from crm.services import case_submit
from identity.models import Person, User
from kiosk_api import selectors
from kiosk_api.models import PrintAck
from kiosk_api.tests.conftest import national_number
from signing.models import IssuedDocument
from signing.services import new_verification_code

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.7\n% test body\n%%EOF\n"


def issue(case) -> IssuedDocument:
    document = IssuedDocument(
        case=case, issue_key=f"test-{case.pk}", template="household_composition",
        language="fr", size=len(PDF), sha256="0" * 64,
        verification_code=new_verification_code(), seal_level="B-B",
        certificate_subject="CN=Test seal", certificate_issuer="CN=Test CA",
        certificate_serial="1", certificate_sha256="0" * 64, issued_at=timezone.now())
    document.file.save("doc.pdf", ContentFile(PDF), save=False)
    document.save()
    return document


@pytest.fixture
def my_document(citizen, household_certificate):
    return issue(case_submit(procedure=household_certificate, requester=citizen,
                             channel="web", data={"purpose": "school"}, assurance_level=3))


@pytest.fixture
def their_document(household_certificate):
    person = Person.objects.create(
        number=national_number(dt.date(1970, 3, 4), 7), number_kind="national",
        first_names="Jan", last_name="Peeters", birth_date=dt.date(1970, 3, 4), gender="M")
    other = User.objects.create(username="jan", person=person)
    return issue(case_submit(procedure=household_certificate, requester=other, channel="web",
                             data={"purpose": "x"}, assurance_level=3))


def test_documents_list_shows_only_own_documents(kiosk, card, my_document, their_document):
    token = kiosk.open_session(card)
    response = kiosk.call("get", "documents/", session=token)
    assert response.status_code == 200
    assert [d["code"] for d in response.json()["results"]] == [my_document.verification_code]


def test_pdf_of_own_document_downloads_for_printing(kiosk, card, my_document):
    token = kiosk.open_session(card)
    response = kiosk.call("get", f"documents/{my_document.verification_code}/pdf/",
                          session=token)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == PDF


def test_pdf_and_ack_of_someone_elses_document_are_not_found(kiosk, card, citizen,
                                                            their_document):
    token = kiosk.open_session(card)
    for method, path in (("get", "pdf"), ("post", "printed")):
        response = kiosk.call(method, f"documents/{their_document.verification_code}/{path}/",
                              session=token)
        assert response.status_code == 404
        assert response.json()["code"] == "document_not_found"
    assert PrintAck.objects.count() == 0


def test_revoked_document_is_not_printed(kiosk, card, my_document):
    IssuedDocument.objects.filter(pk=my_document.pk).update(revoked=True)
    token = kiosk.open_session(card)
    response = kiosk.call("get", f"documents/{my_document.verification_code}/pdf/",
                          session=token)
    assert response.status_code == 409 and response.json()["code"] == "document_revoked"


def test_printed_acknowledgement_is_idempotent_and_counted_per_terminal(
        kiosk, other_kiosk, card, my_document):
    token = kiosk.open_session(card)
    path = f"documents/{my_document.verification_code}/printed/"
    first = kiosk.call("post", path, session=token)
    again = kiosk.call("post", path, session=token)
    assert first.status_code == 201 and again.status_code == 200
    assert first.json() == again.json()
    other_token = other_kiosk.open_session(card)
    assert other_kiosk.call("post", path, session=other_token).status_code == 201
    stats = {row["terminal"].code: row for row in selectors.terminal_statistics()}
    assert stats["centre-01"]["documents_delivered"] == 1
    assert stats["laeken-01"]["documents_delivered"] == 1
    assert stats["centre-01"]["sessions"] == 1
