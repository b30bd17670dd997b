"""Issuing: one sealed document per issue event, whatever the retries; revocation."""

from __future__ import annotations

import hashlib
import string

import pytest
from django.db import IntegrityError
from hypothesis import given
from hypothesis import strategies as st

from core.errors import Conflict, NotAllowed, ValidationFailed
from signing import pdf_seal, services
from signing.models import DocumentEvent, IssuedDocument

pytestmark = pytest.mark.django_db


def test_an_approved_case_gets_a_sealed_document_and_is_closed(seal_pkcs12, approved_case):
    case = approved_case("household-composition")
    document = services.document_issue(case=case)
    case.refresh_from_db()
    assert case.state == "closed"
    assert case.document_reference == services.format_code(document.verification_code)
    data = document.file.read()
    assert hashlib.sha256(data).hexdigest() == document.sha256 and document.size == len(data)
    check = pdf_seal.inspect_pdf(data, trust_roots=[seal_pkcs12.cert("root")])
    assert check.outcome == pdf_seal.SealOutcome.VALID
    assert document.certificate_serial == format(seal_pkcs12.cert("seal").serial_number, "x")
    assert document.seal_level == "B-B"
    assert document.template == "household_composition"
    assert DocumentEvent.objects.filter(document=document, kind="issued").count() == 1


def test_issuing_twice_returns_the_same_document(seal_pkcs12, approved_case):
    case = approved_case("life")
    first = services.document_issue(case=case)
    second = services.document_issue(case=case)
    assert first.pk == second.pk
    assert IssuedDocument.objects.filter(case=case).count() == 1


def test_the_issue_key_is_unique_in_the_database(seal_pkcs12, approved_case):
    document = services.document_issue(case=approved_case("life"))
    clone = IssuedDocument(case=document.case, issue_key=document.issue_key, template="generic",
                           language="fr", size=1, sha256="0" * 64, verification_code="X" * 20,
                           seal_level="B-B", issued_at=document.issued_at)
    clone.file.name = "x.pdf"
    with pytest.raises(IntegrityError):
        clone.save()


def test_the_outbox_task_path_issues_one_document_even_when_delivered_twice(
        seal_pkcs12, approved_case):
    from crm.models import OutboxMessage
    from crm.outbox import outbox_relay
    from signing.tasks import document_issue

    case = approved_case("belgian-nationality")
    assert OutboxMessage.objects.filter(topic="document.issue", payload__case_id=case.pk,
                                        dispatched_at__isnull=True).exists()
    outbox_relay()  # eager in tests: the task runs here
    assert IssuedDocument.objects.filter(case=case).count() == 1
    # The broker delivers the same message again, and a retry runs it a third time.
    document_issue.apply(args=[case.pk])
    document_issue.delay(case.pk)
    assert IssuedDocument.objects.filter(case=case).count() == 1
    case.refresh_from_db()
    assert case.state == "closed"


@pytest.mark.django_db(transaction=True)
def test_the_worker_seals_with_no_transaction_open(seal_pkcs12, approved_case, settings,
                                                  monkeypatch):
    """The worker's side of the outbox runs document_issue outside the row's transaction:
    the render and seal hold no lock (SQLite's write lock would stop every other writer)."""
    from django.db import connection

    from crm.models import OutboxMessage
    from crm.outbox import outbox_process_rows

    settings.CRM_OUTBOX_RELAY_ON_COMMIT = False  # the worker's message is delivered below
    case = approved_case("life")
    row = OutboxMessage.objects.get(topic="document.issue", payload__case_id=case.pk)
    in_transaction = []
    seal = pdf_seal.Sealer.seal

    def spy(self, pdf, *, options):
        in_transaction.append(connection.in_atomic_block)
        return seal(self, pdf, options=options)

    monkeypatch.setattr(pdf_seal.Sealer, "seal", spy)
    assert outbox_process_rows([row.dedup_key]) == ([], None)
    assert outbox_process_rows([row.dedup_key]) == ([], None)  # delivered twice
    assert in_transaction == [False]
    assert IssuedDocument.objects.filter(case=case).count() == 1
    row.refresh_from_db()
    assert row.processed_at is not None and row.dispatched_at is not None


def test_a_task_that_failed_to_seal_is_retried_and_issues_one_document(
        seal_pkcs12, approved_case, settings):
    from signing import backends
    from signing.tasks import document_issue

    case = approved_case("main-residence")
    good = settings.SIGNING_PKCS12_PATH
    settings.SIGNING_PKCS12_PATH = "/nonexistent/seal.p12"  # the key is unavailable
    backends.reset_sealer()
    from celery.exceptions import Retry

    with pytest.raises(Retry):  # eager mode raises what a worker would schedule
        document_issue.apply(args=[case.pk])
    assert not IssuedDocument.objects.filter(case=case).exists()
    settings.SIGNING_PKCS12_PATH = good
    backends.reset_sealer()
    document_issue.apply(args=[case.pk])
    document_issue.apply(args=[case.pk])
    assert IssuedDocument.objects.filter(case=case).count() == 1


def test_a_case_that_is_not_approved_gets_no_document(seal_pkcs12, approved_case):
    from crm.models import Case
    from signing.tasks import document_issue

    case = approved_case("life")
    Case.objects.filter(pk=case.pk).update(state="cancelled")
    with pytest.raises(services.DocumentNotIssuable):
        services.document_issue(case=case)
    assert document_issue.apply(args=[case.pk]).get() is None
    assert document_issue.apply(args=[999999]).get() is None
    assert not IssuedDocument.objects.exists()


def test_verification_codes_are_long_random_and_unique():
    codes = {services.new_verification_code() for _ in range(2000)}
    assert len(codes) == 2000
    for code in list(codes)[:50]:
        assert len(code) == 20 and set(code) <= set(string.ascii_uppercase + "234567")
    # Not sequential: consecutive codes share no long common prefix.
    ordered = [services.new_verification_code() for _ in range(200)]
    assert sum(a[:4] == b[:4] for a, b in zip(ordered, ordered[1:], strict=False)) < 3


@given(st.text(max_size=80))
def test_normalize_code_never_raises_and_only_accepts_our_shape(raw):
    code = services.normalize_code(raw)
    assert code is None or (len(code) == 20 and code.isalnum() and code.upper() == code)


def test_codes_are_read_with_or_without_dashes_and_in_any_case():
    code = services.new_verification_code()
    assert services.normalize_code(services.format_code(code).lower()) == code
    assert services.normalize_code(f"  {code[:10]} {code[10:]} ") == code


def test_only_authorised_staff_revoke_with_a_reason(seal_pkcs12, approved_case, citizen,
                                                     staff_supervisor):
    document = services.document_issue(case=approved_case("life"))
    with pytest.raises(NotAllowed):
        services.document_revoke(document=document, actor=citizen, reason="fraud")
    with pytest.raises(ValidationFailed):
        services.document_revoke(document=document, actor=staff_supervisor, reason="  ")
    services.document_revoke(document=document, actor=staff_supervisor,
                             reason="Issued on a wrong address")
    document.refresh_from_db()
    assert document.revoked and document.revoked_by == staff_supervisor
    assert document.revoked_reason == "Issued on a wrong address"
    assert DocumentEvent.objects.filter(document=document, kind="revoked").count() == 1
    with pytest.raises(Conflict):
        services.document_revoke(document=document, actor=staff_supervisor, reason="again")


def test_selectors_scope_documents_to_their_citizen(seal_pkcs12, approved_case, citizen,
                                                   other_citizen):
    from core.errors import NotFound
    from signing import selectors

    document = services.document_issue(case=approved_case("life"))
    assert list(selectors.documents_of_citizen(citizen)) == [document]
    assert list(selectors.documents_of_citizen(other_citizen)) == []
    assert list(selectors.documents_of_case(document.case)) == [document]
    assert selectors.document_by_code(services.format_code(document.verification_code)) == \
        document
    with pytest.raises(NotFound):
        selectors.document_for_download(user=other_citizen, code=document.verification_code)


def test_supervisors_find_and_revoke_documents_in_the_back_office(client, seal_pkcs12,
                                                                  approved_case,
                                                                  staff_supervisor, citizen):
    from django.contrib.auth.models import Permission

    document = services.document_issue(case=approved_case("life"))
    staff_supervisor.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(citizen)
    assert client.get("/admin/documents-issued/").status_code in (302, 403)
    # Past the staff second factor, as django-otp's middleware expects.
    from django_otp.plugins.otp_static.models import StaticDevice

    device = StaticDevice.objects.create(user=staff_supervisor, name="test")
    client.force_login(staff_supervisor)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    response = client.get("/admin/documents-issued/", {"q": document.case.reference})
    assert response.status_code == 200
    assert services.format_code(document.verification_code) in response.content.decode()
    response = client.post(f"/admin/documents-issued/{document.pk}/revoke/",
                           {"reason": "Wrong household"})
    assert response.status_code == 302
    document.refresh_from_db()
    assert document.revoked and document.revoked_reason == "Wrong household"


def test_the_task_keeps_the_seal_key_loaded_between_documents(
        seal_pkcs12, approved_case, monkeypatch):
    from signing import backends
    from signing.tasks import document_issue

    backends.reset_sealer()
    opened = []
    original = backends.Pkcs12Backend.open
    monkeypatch.setattr(backends.Pkcs12Backend, "open",
                        lambda self, config: opened.append(1) or original(self, config))
    cases = [approved_case("life"), approved_case("main-residence")]
    for case in cases:
        assert document_issue.apply(args=[case.pk]).get() is not None
    assert IssuedDocument.objects.filter(case__in=cases).count() == 2
    assert len(opened) == 1
