"""The citizen's request forms, drafts, "my requests" and case page, through HTTP."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from crm import services
from crm.models import Case, CaseDraft
from crm.tests.uihelpers import (
    PDF,
    PNG,
    citizen_client,
    make_citizen,
    make_procedure,
    make_queue,
    make_staff,
)
from crm.workflow import CaseState
from identity.constants import AssuranceLevel

pytestmark = pytest.mark.django_db


def start_url(procedure, lang: str = "en", step: int | None = None) -> str:
    url = f"/{lang}/requests/new/{procedure.code}/"
    return f"{url}?step={step}" if step else url


def pdf(name: str = "id.pdf", content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


@pytest.fixture
def procedure():
    return make_procedure()


@pytest.fixture
def citizen():
    return make_citizen()


@pytest.fixture
def client_(citizen):
    return citizen_client(citizen)


def fill_steps(client, procedure, lang="en"):
    r1 = client.post(start_url(procedure, lang), {"step": 1, "purpose": "work", "copies": "2"})
    assert r1.status_code == 302, r1.content.decode()[:2000]
    r2 = client.post(start_url(procedure, lang), {"step": 2, "email": "me@example.org"})
    assert r2.status_code == 302
    return r2


def submit(client, procedure, lang="en", **files):
    files = files or {"attachment__id_copy": pdf()}
    return client.post(start_url(procedure, lang), {"step": 3, "action": "next", **files})


# --- access ------------------------------------------------------------------------------


def test_anonymous_visitor_is_sent_to_the_login_with_next(procedure):
    response = Client().get(start_url(procedure))
    assert response.status_code == 302
    assert "next=" in response["Location"]
    assert f"requests/new/{procedure.code}" in response["Location"]


@pytest.mark.parametrize("change", [{"active": False}, {"offered_web": False}])
def test_inactive_or_not_online_procedure_is_a_404_in_the_users_language(client_, change):
    procedure = make_procedure(**change)
    response = client_.get(start_url(procedure, "nl"))
    assert response.status_code == 404


def test_unknown_procedure_is_a_404(client_):
    assert client_.get("/fr/requests/new/no-such-thing/").status_code == 404


def test_too_low_assurance_level_explains_and_links_to_a_stronger_login(citizen, procedure):
    client = citizen_client(citizen, level=AssuranceLevel.LOW)
    response = client.get(start_url(procedure))
    assert response.status_code == 403
    body = response.content.decode()
    assert "A stronger login is needed" in body
    assert "level=2" in body and "next=" in body
    assert not Case.objects.exists()


def test_too_low_assurance_level_cannot_submit_by_posting_either(citizen, procedure):
    client = citizen_client(citizen, level=AssuranceLevel.LOW)
    response = client.post(start_url(procedure), {"step": 3,
                                                  "attachment__id_copy": pdf()})
    assert response.status_code == 403
    assert not Case.objects.exists()


# --- the multi-step form -------------------------------------------------------------


def test_first_step_shows_progress_and_translated_labels(client_, procedure):
    response = client_.get(start_url(procedure, "nl"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Purpose [nl]" in body and "School [nl]" in body
    assert 'aria-current="step"' in body
    assert "Copies [nl]" in body and "Contact e-mail [nl]" not in body


def test_bad_data_is_shown_per_field_with_an_error_summary_and_kept(client_, procedure):
    response = client_.post(start_url(procedure), {"step": 1, "purpose": "work",
                                                   "copies": "9"})
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="error-summary"' in body and "data-autofocus" in body
    assert 'href="#id_copies"' in body
    assert 'value="work"' in body and "checked" in body  # the valid answer is kept
    draft = CaseDraft.objects.get()
    assert draft.data == {"purpose": "work"}  # the wrong value is not stored


def test_garbage_post_never_gives_a_500(client_, procedure):
    for data in ({"step": "abc"}, {"step": "-3", "copies": "x" * 5000},
                 {"step": "99", "action": "weird"}, {}):
        response = client_.post(start_url(procedure), data)
        assert response.status_code in (302, 400), data
    assert not Case.objects.exists()


def test_next_and_previous_save_the_draft_at_every_step(client_, procedure):
    fill_steps(client_, procedure)
    draft = CaseDraft.objects.get()
    assert draft.step == 3
    assert draft.data == {"purpose": "work", "copies": 2, "email": "me@example.org"}
    response = client_.post(start_url(procedure), {"step": 2, "action": "previous",
                                                   "email": "new@example.org"})
    assert response.status_code == 302 and response["Location"].endswith("?step=1")
    draft.refresh_from_db()
    assert draft.step == 1 and draft.data["email"] == "new@example.org"


def test_confirmation_step_shows_the_summary_with_labels(client_, procedure):
    fill_steps(client_, procedure)
    body = client_.get(start_url(procedure, step=3)).content.decode()
    assert "Step 3 of 3" in body
    assert "Work" in body and "me@example.org" in body
    assert "Copy of your ID" in body


def test_full_submission_creates_the_case_and_shows_the_reference(client_, citizen,
                                                                  procedure):
    fill_steps(client_, procedure)
    response = submit(client_, procedure)
    assert response.status_code == 302
    case = Case.objects.get()
    assert response["Location"] == f"/en/requests/{case.reference}/sent/"
    assert case.requester == citizen and case.channel == "web" and case.language == "en"
    assert case.data == {"purpose": "work", "copies": 2, "email": "me@example.org"}
    assert case.attachments.get().original_name == "id.pdf"
    assert not CaseDraft.objects.exists()
    page = client_.get(response["Location"])
    assert case.reference in page.content.decode()
    assert "Your request is sent" in page.content.decode()


def test_confirmation_is_in_the_language_the_citizen_used(client_, procedure):
    fill_steps(client_, procedure, lang="fr")
    response = submit(client_, procedure, lang="fr")
    case = Case.objects.get()
    assert case.language == "fr"
    body = client_.get(response["Location"]).content.decode()
    assert case.reference in body
    assert "Your request is sent" not in body  # translated


@pytest.mark.parametrize(("content", "name", "fragment"), [
    (PNG, "id.pdf", "type of file"),
    (PDF + b"0" * 3000, "id.pdf", "too large"),
    (b"", "id.pdf", "empty"),
])
def test_bad_attachments_are_field_errors_and_nothing_is_created(client_, procedure,
                                                                content, name, fragment):
    fill_steps(client_, procedure)
    response = submit(client_, procedure,
                      attachment__id_copy=SimpleUploadedFile(name, content,
                                                             content_type="application/pdf"))
    assert response.status_code == 400
    body = response.content.decode()
    assert fragment in body
    assert 'href="#id_attachment__id_copy"' in body
    assert not Case.objects.exists()
    assert CaseDraft.objects.exists()  # nothing lost


def test_missing_required_attachment_is_a_field_error(client_, procedure):
    fill_steps(client_, procedure)
    response = client_.post(start_url(procedure), {"step": 3})
    assert response.status_code == 400
    assert not Case.objects.exists()


def test_service_errors_on_another_step_are_reported_without_a_500(client_, citizen,
                                                                   procedure):
    fill_steps(client_, procedure)
    CaseDraft.objects.update(data={"purpose": "work", "copies": 9, "email": "me@example.org"})
    response = submit(client_, procedure)
    assert response.status_code == 400
    body = response.content.decode()
    assert "Step 1 has an error" in body and "Copies" in body
    assert not Case.objects.exists()


def test_duplicate_open_request_is_refused_with_a_clear_message(client_, procedure):
    procedure.one_open_case_per_person = True
    procedure.save()
    fill_steps(client_, procedure)
    submit(client_, procedure)
    fill_steps(client_, procedure)
    response = submit(client_, procedure)
    assert response.status_code == 400
    assert "already have an open request" in response.content.decode()
    assert Case.objects.count() == 1


def test_paying_request_links_to_the_payment_page(client_):
    procedure = make_procedure(fee_web=500)
    fill_steps(client_, procedure)
    response = submit(client_, procedure)
    case = Case.objects.get()
    assert case.state == CaseState.AWAITING_PAYMENT
    body = client_.get(response["Location"]).content.decode()
    try:
        pay_url = reverse("payments:pay", args=[case.reference])
    except NoReverseMatch:
        pytest.fail("payments:pay is part of the contract and must exist")
    assert pay_url in body
    assert "5,00" in body or "5.00" in body


# --- drafts -----------------------------------------------------------------------------


def test_a_draft_is_resumed_from_my_requests_at_its_step_with_its_values(client_,
                                                                        procedure):
    client_.post(start_url(procedure), {"step": 1, "purpose": "school", "copies": "3"})
    client_.post(start_url(procedure), {"step": 2, "action": "save",
                                        "email": "later@example.org"})
    listing = client_.get("/en/requests/").content.decode()
    assert procedure.name_en in listing and start_url(procedure) in listing
    resumed = client_.get(start_url(procedure)).content.decode()
    assert "Step 2 of 3" in resumed and "later@example.org" in resumed
    back = client_.get(start_url(procedure, step=1)).content.decode()
    assert 'value="3"' in back


def test_an_expired_draft_is_not_offered_nor_resumed(client_, procedure, settings):
    client_.post(start_url(procedure), {"step": 1, "purpose": "school", "copies": "3"})
    CaseDraft.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert procedure.name_en not in client_.get("/en/requests/").content.decode()
    body = client_.get(start_url(procedure)).content.decode()
    assert "Step 1 of 3" in body and 'value="3"' not in body


def test_saving_sets_the_expiry_from_the_setting(client_, procedure, settings):
    settings.CRM_DRAFT_TTL_DAYS = 2
    client_.post(start_url(procedure), {"step": 1, "purpose": "school", "copies": "3"})
    draft = CaseDraft.objects.get()
    assert dt.timedelta(days=1, hours=23) < draft.expires_at - timezone.now() \
        <= dt.timedelta(days=2)


def test_a_draft_can_be_deleted_and_restarted_empty(client_, procedure):
    client_.post(start_url(procedure), {"step": 1, "purpose": "school", "copies": "3"})
    response = client_.post(f"/en/requests/new/{procedure.code}/delete-draft/")
    assert response.status_code == 302
    assert not CaseDraft.objects.exists()
    client_.post(start_url(procedure), {"step": 1, "purpose": "school", "copies": "3"})
    client_.get(start_url(procedure) + "?fresh=1")
    assert not CaseDraft.objects.exists()


def test_drafts_are_private(client_, procedure):
    client_.post(start_url(procedure), {"step": 1, "purpose": "school", "copies": "3"})
    other = citizen_client(make_citizen("Peeters"))
    assert procedure.name_en not in other.get("/en/requests/").content.decode()
    assert 'value="3"' not in other.get(start_url(procedure)).content.decode()


# --- my requests and the case page ---------------------------------------------------


def make_case(citizen, procedure=None, **kwargs):
    return services.case_submit(procedure=procedure or make_procedure(attachments=[]),
                                requester=citizen, channel="web",
                                data={"purpose": "work", "copies": 1, "email": "a@b.be"},
                                assurance_level=AssuranceLevel.HIGH, **kwargs)


def test_my_requests_has_an_empty_state(client_):
    body = client_.get("/en/requests/").content.decode()
    assert "You have not sent any request yet" in body


def test_my_requests_lists_every_case_of_the_citizen_and_nothing_else(client_, citizen):
    mine = make_case(citizen)
    theirs = make_case(make_citizen("Peeters"))
    body = client_.get("/en/requests/").content.decode()
    assert mine.reference in body and theirs.reference not in body
    assert "badge--in_progress" in body


def test_my_requests_is_paginated(client_, citizen):
    procedure = make_procedure(attachments=[])
    refs = [make_case(citizen, procedure).reference for _ in range(22)]
    first = client_.get("/en/requests/").content.decode()
    second = client_.get("/en/requests/?page=2").content.decode()
    assert refs[-1] in first and refs[0] not in first
    assert refs[0] in second
    assert client_.get("/en/requests/?page=zzz").status_code == 200


def test_anonymous_cannot_see_my_requests_or_a_case(citizen):
    case = make_case(citizen)
    for url in ("/en/requests/", f"/en/requests/{case.reference}/"):
        response = Client().get(url)
        assert response.status_code == 302 and "next=" in response["Location"]


def test_another_citizens_case_is_a_404(client_):
    case = make_case(make_citizen("Peeters"))
    for url in (f"/en/requests/{case.reference}/", f"/en/requests/{case.reference}/sent/"):
        assert client_.get(url).status_code == 404
    assert client_.post(f"/en/requests/{case.reference}/reply/",
                        {"body": "hello"}).status_code == 404
    assert client_.post(f"/en/requests/{case.reference}/cancel/",
                        {"reason": "x"}).status_code == 404
    assert not case.messages.exists()


def test_an_agent_does_not_use_the_citizen_page_of_a_queue_case(citizen):
    case = make_case(citizen)
    agent = make_staff("agent", "Case agent")
    case.queue.members.add(agent)
    client = Client()
    client.force_login(agent)
    assert client.get(f"/en/requests/{case.reference}/").status_code == 404


def test_case_page_shows_timeline_and_no_internal_note(client_, citizen):
    case = make_case(citizen)
    agent = make_staff("agent", "Case agent")
    case.queue.members.add(agent)
    services.case_add_note(case=case, author=agent, body="secret internal remark")
    body = client_.get(f"/en/requests/{case.reference}/").content.decode()
    assert case.reference in body and "History" in body
    assert "secret internal remark" not in body
    assert "No document yet." in body


def test_citizen_answers_a_request_for_information_and_the_case_goes_back(client_, citizen):
    case = make_case(citizen)
    agent = make_staff("agent", "Case agent")
    make_queue(members=(agent,))
    case.queue.members.add(agent)
    services.case_claim(case=case, agent=agent)
    services.case_request_information(case=case, agent=agent, message="Which year?")
    body = client_.get(f"/en/requests/{case.reference}/").content.decode()
    assert "Which year?" in body and "Answer the agent" in body
    response = client_.post(f"/en/requests/{case.reference}/reply/",
                            {"body": "1987", "attachment": pdf()})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.IN_PROGRESS
    assert case.messages.filter(direction="from_citizen", body="1987").exists()
    assert case.attachments.filter(original_name="id.pdf").exists()


def test_an_empty_reply_is_a_field_error(client_, citizen):
    case = make_case(citizen)
    response = client_.post(f"/en/requests/{case.reference}/reply/", {"body": "  "})
    assert response.status_code == 400
    assert 'href="#id_body"' in response.content.decode()
    assert not case.messages.exists()


def test_citizen_writes_a_message_while_in_progress(client_, citizen):
    case = make_case(citizen)
    response = client_.post(f"/en/requests/{case.reference}/reply/", {"body": "Any news?"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.IN_PROGRESS
    assert case.messages.get().body == "Any news?"


def test_citizen_cancels_their_request(client_, citizen):
    case = make_case(citizen)
    body = client_.get(f"/en/requests/{case.reference}/").content.decode()
    assert "Cancel my request" in body
    assert client_.post(f"/en/requests/{case.reference}/cancel/",
                        {"reason": ""}).status_code == 400
    response = client_.post(f"/en/requests/{case.reference}/cancel/",
                            {"reason": "No longer needed"})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.CANCELLED
    body = client_.get(f"/en/requests/{case.reference}/").content.decode()
    assert "Cancel my request" not in body


def test_get_on_post_only_urls_is_refused(client_, citizen):
    case = make_case(citizen)
    assert client_.get(f"/en/requests/{case.reference}/cancel/").status_code == 405
    assert client_.get(f"/en/requests/{case.reference}/reply/").status_code == 405


def test_csrf_is_enforced_on_the_forms(citizen, procedure):
    client = Client(enforce_csrf_checks=True)
    client.force_login(citizen)
    session = client.session
    session["identity.assurance_level"] = 3
    session.save()
    response = client.post(start_url(procedure), {"step": 1, "purpose": "work",
                                                  "copies": "1"})
    assert response.status_code == 403


def test_viewing_the_case_marks_the_citys_messages_as_read(client_, citizen):
    case = make_case(citizen)
    agent = make_staff("agent", "Case agent")
    case.queue.members.add(agent)
    message = services.case_send_message(case=case, sender=agent, body="We are on it.")
    assert message.read_at is None
    assert "We are on it." in client_.get(f"/en/requests/{case.reference}/").content.decode()
    message.refresh_from_db()
    assert message.read_at is not None


def test_a_request_made_at_the_counter_shows_in_my_requests(client_, citizen):
    desk = make_staff("desk", "Counter agent")
    case = services.case_submit(procedure=make_procedure(attachments=[]), requester=None,
                                person=citizen.person, channel="counter",
                                data={"purpose": "work", "copies": 1, "email": "a@b.be"},
                                acting_agent=desk)
    body = client_.get("/en/requests/").content.decode()
    assert case.reference in body and "counter" in body
    assert client_.get(f"/en/requests/{case.reference}/").status_code == 200


def test_issued_documents_are_listed_with_their_download_link(client_, citizen):
    """The document row is written directly (sealing needs the signing app's PKI, tested
    there); this checks only that the case page lists it and links to the download."""
    from django.core.files.base import ContentFile

    from signing.models import IssuedDocument

    case = make_case(citizen)
    document = IssuedDocument(case=case, issue_key=f"test:{case.pk}", template="residence",
                              language="en", size=len(PDF), sha256="0" * 64,
                              verification_code="ABCD2345EFGH6789", seal_level="B-T",
                              certificate_subject="CN=Test", certificate_issuer="CN=Test CA",
                              certificate_serial="1", certificate_sha256="0" * 64,
                              issued_at=timezone.now())
    document.file.save("doc.pdf", ContentFile(PDF), save=False)
    document.save()
    body = client_.get(f"/en/requests/{case.reference}/").content.decode()
    assert reverse("signing:download", args=[document.verification_code]) in body
    assert "No document yet." not in body
