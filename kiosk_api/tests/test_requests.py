"""Procedures, submitting requests and following cases from a terminal."""

from __future__ import annotations

import datetime as dt

import pytest

from catalogue.models import Procedure
from crm.models import Case
from identity.models import Person, User
from kiosk_api.models import KioskRequest
from kiosk_api.tests.conftest import national_number

pytestmark = pytest.mark.django_db


@pytest.fixture
def web_only(db):
    return Procedure.objects.create(
        code="street-artist", name_fr="Artiste de rue", name_nl="Straatartiest",
        name_en="Street artist", name_de="Straßenkünstler", category="permits",
        department="economy", workflow_kind="permit", delivery="signed_pdf",
        offered_kiosk=False)


def test_procedures_list_only_kiosk_ones_in_the_asked_language_with_fees(
        kiosk, household_certificate, web_only):
    household_certificate.fee_kiosk = 350
    household_certificate.save()
    response = kiosk.call("get", "procedures/?lang=nl")
    assert response.status_code == 200
    codes = [p["code"] for p in response.json()]
    assert codes == ["household-composition"]
    item = response.json()[0]
    assert item["name"] == "Samenstelling van het gezin"
    assert item["fee_cents"] == 350
    assert "3,50" in item["fee_display"] and "€" in item["fee_display"]
    response = kiosk.call("get", "procedures/?lang=de")
    assert response.json()[0]["name"] == "Haushaltszusammensetzung"


def test_procedure_detail_and_not_offered_one(kiosk, household_certificate, web_only):
    response = kiosk.call("get", "procedures/household-composition/?lang=en")
    assert response.status_code == 200
    assert response.json()["form_schema"]["required"] == ["purpose"]
    response = kiosk.call("get", "procedures/street-artist/")
    assert response.status_code == 404
    assert response.json()["code"] == "procedure_not_offered"


def test_procedures_follow_the_session_language(kiosk, citizen, card, household_certificate):
    token = kiosk.open_session(card)  # citizen prefers Dutch
    response = kiosk.call("get", "procedures/?lang=fr", session=token)
    assert response.json()[0]["name"] == "Samenstelling van het gezin"


def test_submit_creates_a_kiosk_case_counted_for_the_terminal(kiosk, citizen, card,
                                                               household_certificate):
    token = kiosk.open_session(card)
    response = kiosk.call("post", "requests/", session=token, data={
        "procedure": "household-composition", "data": {"purpose": "school"}})
    assert response.status_code == 201, response.json()
    body = response.json()
    case = Case.objects.get(reference=body["reference"])
    assert case.channel == "kiosk" and case.requester == citizen
    assert case.language == "nl"
    assert body["payment_due"] is False
    assert KioskRequest.objects.get(case=case).terminal == kiosk.terminal


def test_submit_returns_the_portal_validation_errors_per_field_in_the_citizen_language(
        kiosk, citizen, card, household_certificate):
    from django.utils import translation

    from catalogue.forms_schema import validate_form_data

    token = kiosk.open_session(card)
    for data in ({"purpose": "x" * 101}, {}):
        response = kiosk.call("post", "requests/", session=token, data={
            "procedure": "household-composition", "data": data})
        assert response.status_code == 400
        body = response.json()
        assert body["code"] == "invalid"
        with translation.override("nl"):  # the citizen's language, as on the portal
            expected = validate_form_data(household_certificate.form_schema, data)
        assert body["errors"] == expected and set(expected) == {"purpose"}
    assert Case.objects.count() == 0 and KioskRequest.objects.count() == 0


def test_submit_missing_fields_and_unknown_procedure(kiosk, citizen, card, household_certificate):
    token = kiosk.open_session(card)
    response = kiosk.call("post", "requests/", session=token, data={})
    assert response.status_code == 400 and "procedure" in response.json()["errors"]
    response = kiosk.call("post", "requests/", session=token, data={"procedure": "nope"})
    assert response.status_code == 404 and response.json()["code"] == "procedure_not_offered"
    response = kiosk.call("post", "requests/", session=token, data={
        "procedure": "household-composition", "data": {"purpose": "a"},
        "attachments": [{"code": "id", "filename": "a.pdf", "content": "***"}]})
    assert response.status_code == 400
    assert Case.objects.count() == 0


def test_submit_needs_a_session(kiosk, household_certificate):
    response = kiosk.call("post", "requests/", data={"procedure": "household-composition"})
    assert response.status_code == 401 and response.json()["code"] == "session_required"


def test_cases_show_only_the_session_citizens_own(kiosk, citizen, card, household_certificate):
    token = kiosk.open_session(card)
    mine = kiosk.call("post", "requests/", session=token, data={
        "procedure": "household-composition", "data": {"purpose": "school"}}).json()
    other_person = Person.objects.create(
        number=national_number(dt.date(1970, 3, 4), 7), number_kind="national",
        first_names="Jan", last_name="Peeters", birth_date=dt.date(1970, 3, 4), gender="M")
    other = User.objects.create(username="jan", person=other_person)
    from crm.services import case_submit
    theirs = case_submit(procedure=household_certificate, requester=other, channel="kiosk",
                         data={"purpose": "x"}, assurance_level=3)
    listing = kiosk.call("get", "cases/", session=token).json()
    assert [c["reference"] for c in listing["results"]] == [mine["reference"]]
    assert kiosk.call("get", f"cases/{mine['reference']}/", session=token).status_code == 200
    response = kiosk.call("get", f"cases/{theirs.reference}/", session=token)
    assert response.status_code == 404 and response.json()["code"] == "case_not_found"


def test_assurance_level_is_checked_by_the_intake(kiosk, citizen, card, household_certificate):
    token = kiosk.open_session(card)
    from kiosk_api.models import KioskSession
    KioskSession.objects.update(assurance_level=1)  # as a low-level digital key would give
    response = kiosk.call("post", "requests/", session=token, data={
        "procedure": "household-composition", "data": {"purpose": "school"}})
    assert response.status_code == 403 and response.json()["code"] == "assurance_too_low"


def test_procedure_list_follows_catalogue_edits_at_once(kiosk, household_certificate, web_only):
    assert [p["code"] for p in kiosk.call("get", "procedures/").json()] == [
        "household-composition"]
    web_only.offered_kiosk = True
    web_only.save()
    household_certificate.fee_kiosk = 900
    household_certificate.save()
    listing = {p["code"]: p for p in kiosk.call("get", "procedures/").json()}
    assert set(listing) == {"household-composition", "street-artist"}
    assert listing["household-composition"]["fee_cents"] == 900


def test_errors_come_in_the_citizens_language(kiosk, citizen, card, household_certificate):
    token = kiosk.open_session(card)  # citizen prefers Dutch
    response = kiosk.call("post", "requests/", session=token, data={"procedure": "nope"})
    assert response.json()["detail"] == "Deze procedure wordt niet op de terminals aangeboden."
    response = kiosk.call("get", "procedures/nope/?lang=de")
    assert response.json()["detail"] == "Dieses Verfahren wird an den Terminals nicht angeboten."
