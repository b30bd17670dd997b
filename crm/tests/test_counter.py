"""Counter mode: an agent finds the citizen in the register and submits on their behalf;
nothing of that citizen stays behind for the next one."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from crm.models import Case
from crm.tests.uihelpers import (
    PDF,
    assert_refused,
    make_person,
    make_procedure,
    make_queue,
    make_staff,
    staff_client,
)

pytestmark = pytest.mark.django_db

COUNTER = "/admin/counter/"


@pytest.fixture
def desk():
    agent = make_staff("desk", "Counter agent")
    make_queue("civil_status")
    person = make_person("Vandenberghe", first_names="Lucien",
                         birth_date=dt.date(1975, 4, 12))
    procedure = make_procedure(fee_counter=500)
    web_only = make_procedure(offered_counter=False)
    return {"agent": agent, "client": staff_client(agent), "person": person,
            "procedure": procedure, "web_only": web_only}


def submit_data(desk, **extra):
    return {"stage": "submit", "person": desk["person"].pk,
            "procedure": desk["procedure"].code, "purpose": "school", "copies": "1",
            "email": "lucien@example.org",
            "attachment__id_copy": SimpleUploadedFile("id.pdf", PDF,
                                                      content_type="application/pdf"),
            **extra}


def test_counter_page_is_not_cached_and_refuses_autocomplete(desk):
    response = desk["client"].get(COUNTER)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    body = response.content.decode()
    assert 'autocomplete="off"' in body and 'name="number"' in body


def test_only_counter_agents_use_the_counter(desk):
    agent = make_staff("agent", "Case agent")
    assert_refused(staff_client(agent).get(COUNTER))
    assert_refused(staff_client(agent).post(COUNTER, submit_data(desk)))
    assert not Case.objects.exists()


def test_lookup_by_number_and_by_name_and_birth_date(desk):
    person = desk["person"]
    body = desk["client"].post(COUNTER, {"stage": "lookup",
                                         "number": person.number}).content.decode()
    assert "Vandenberghe" in body and f'name="person" value="{person.pk}"' in body
    body = desk["client"].post(COUNTER, {"stage": "lookup", "last_name": "vandenberghe",
                                         "birth_date": "1975-04-12"}).content.decode()
    assert "Vandenberghe" in body


def test_lookup_needs_a_number_or_a_name_and_birth_date(desk):
    response = desk["client"].post(COUNTER, {"stage": "lookup", "last_name": "X"})
    assert response.status_code == 400
    assert "Enter a register number" in response.content.decode()
    response = desk["client"].post(COUNTER, {"stage": "lookup", "number": "123"})
    assert response.status_code == 400 and "11 digits" in response.content.decode()


def test_nobody_found_is_said_plainly(desk):
    response = desk["client"].post(COUNTER, {"stage": "lookup", "last_name": "Nobody",
                                             "birth_date": "1901-01-01"}, follow=True)
    assert "Nobody found in the register" in response.content.decode()


def test_only_procedures_offered_at_the_counter_are_proposed(desk):
    body = desk["client"].post(COUNTER, {"stage": "choose",
                                         "person": desk["person"].pk}).content.decode()
    assert f'value="{desk["procedure"].code}"' in body
    assert f'value="{desk["web_only"].code}"' not in body


def test_the_form_of_the_procedure_is_rendered_in_one_page(desk):
    body = desk["client"].post(COUNTER, {"stage": "form", "person": desk["person"].pk,
                                         "procedure": desk["procedure"].code}).content.decode()
    assert 'name="purpose"' in body and 'name="email"' in body
    assert 'name="attachment__id_copy"' in body


def test_submit_creates_a_counter_case_for_the_citizen_and_leaves_nothing(desk):
    client = desk["client"]
    response = client.post(COUNTER, submit_data(desk))
    assert response.status_code == 302
    case = Case.objects.get()
    assert response["Location"] == f"{COUNTER}?done={case.reference}"
    assert case.channel == "counter" and case.created_by == desk["agent"]
    assert case.person == desk["person"]
    assert case.requester is not None and case.requester.person == desk["person"]
    assert case.state == "awaiting_payment" and case.fee_cents == 500
    page = client.get(response["Location"])
    body = page.content.decode()
    assert case.reference in body
    assert "Vandenberghe" not in body and desk["person"].number not in body
    assert "lucien@example.org" not in body
    assert "no-store" in page["Cache-Control"]
    session = str(dict(client.session.items()))
    for trace in ("Vandenberghe", desk["person"].number, "lucien@example.org", "person"):
        assert trace not in session


def test_bad_data_at_the_counter_is_shown_per_field_and_creates_nothing(desk):
    response = desk["client"].post(COUNTER, submit_data(
        desk, copies="99", email="nope",
        attachment__id_copy=SimpleUploadedFile("id.pdf", b"", content_type="application/pdf")))
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="id_copies_errors"' in body and 'id="id_email_errors"' in body
    assert 'id="id_attachment__id_copy_errors"' in body
    assert not Case.objects.exists()


def test_a_tampered_person_or_procedure_is_refused(desk):
    response = desk["client"].post(COUNTER, submit_data(desk, person="999999"), follow=True)
    assert "Find the citizen first" in response.content.decode()
    response = desk["client"].post(COUNTER, submit_data(desk, procedure=desk["web_only"].code))
    assert response.status_code == 200 and "Choose a procedure" in response.content.decode()
    assert not Case.objects.exists()


def test_garbage_posts_at_the_counter_never_give_a_500(desk):
    client = desk["client"]
    for data in ({}, {"stage": "nonsense"}, {"stage": "form", "person": "abc"},
                 {"stage": "submit", "person": desk["person"].pk, "procedure": "zzz"},
                 {"stage": "lookup", "birth_date": "31/31/1999", "last_name": "x"}):
        assert client.post(COUNTER, data).status_code in (200, 302, 400), data
    assert not Case.objects.exists()
