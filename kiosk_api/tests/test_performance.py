"""The terminal API's hot path: the procedures list and the submit, with the number of
database queries pinned (bench/kiosk.py measures their latency), and the caches that make
them cheap forgetting at once what must be refused at once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from kiosk_api import services
from kiosk_api.models import KioskRequest

pytestmark = pytest.mark.django_db


@pytest.fixture
def warm(kiosk, citizen, card, household_certificate, monkeypatch):
    """A terminal in a citizen session, its credential, session and catalogue cached. The idle
    clock is written at most hourly here, so no call happens to refresh it."""
    monkeypatch.setattr(services, "ACTIVITY_GRANULARITY", dt.timedelta(hours=1))
    household_certificate.one_open_case_per_person = False
    household_certificate.save()
    token = kiosk.open_session(card)
    assert kiosk.call("get", "procedures/", session=token).status_code == 200
    submit(kiosk, token, "warm-up")
    return token


def submit(kiosk, token, purpose):
    response = kiosk.call("post", "requests/", session=token, data={
        "procedure": "household-composition", "data": {"purpose": purpose}})
    assert response.status_code == 201, response.json()
    return response.json()


def test_procedure_list_makes_no_database_query_once_warm(kiosk, warm):
    with CaptureQueriesContext(connection) as queries:
        response = kiosk.call("get", "procedures/", session=warm)
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert [p["code"] for p in response.json()] == ["household-composition"]
    assert len(queries) == 0, [q["sql"] for q in queries.captured_queries]
    # without a citizen session, in another language: still none once rendered
    kiosk.call("get", "procedures/?lang=de")
    with CaptureQueriesContext(connection) as queries:
        assert kiosk.call("get", "procedures/?lang=de").json()[0]["name"] == \
            "Haushaltszusammensetzung"
    assert len(queries) == 0


def test_submit_makes_only_the_intakes_queries_and_the_terminal_count(kiosk, warm):
    with CaptureQueriesContext(connection) as queries:
        case = submit(kiosk, warm, "school")
    sql = [q["sql"] for q in queries.captured_queries]
    # The credential, the session and the procedure come from the caches: what is left is
    # crm's intake (its queue, the case with its event and outbox rows in one statement), the
    # terminal's count, and the savepoint of request_submit's transaction (a test runs
    # inside a transaction; in production it is BEGIN/COMMIT).
    ours = [q for q in sql if "kiosk_api_" in q or "catalogue_" in q or "identity_" in q]
    assert len(ours) == 1 and ours[0].startswith('INSERT INTO "kiosk_api_kioskrequest"'), ours
    if connection.vendor == "postgresql":  # crm numbers cases with a sequence there
        assert len(sql) <= 5, sql
    assert KioskRequest.objects.filter(case__reference=case["reference"]).exists()


def test_cached_credentials_and_sessions_are_refused_at_once(kiosk, other_kiosk, citizen, card,
                                                            warm):
    # a session ended explicitly, while cached
    assert kiosk.call("delete", "session/", session=warm).status_code == 204
    assert kiosk.call("get", "procedures/", session=warm).json()["code"] == "session_ended"
    # a terminal disabled while its credential and a session are cached
    token = kiosk.open_session(card)
    assert kiosk.call("get", "session/", session=token).status_code == 200
    services.terminal_disable(terminal=kiosk.terminal, actor=None, reason="stolen")
    assert kiosk.call("get", "procedures/").json()["code"] == "terminal_disabled"
    services.terminal_enable(terminal=kiosk.terminal, actor=None)
    assert kiosk.call("get", "session/", session=token).json()["code"] == "session_ended"
    # a credential replaced while cached
    assert kiosk.call("get", "terminal/").status_code == 200
    issued = services.terminal_credential_issue(terminal=kiosk.terminal, actor=None)
    assert kiosk.call("get", "terminal/").status_code == 401
    kiosk.authorization = issued.authorization
    assert kiosk.call("get", "terminal/").status_code == 200
    # another terminal's cached credential is not this one's
    assert other_kiosk.call("get", "session/", session=kiosk.open_session(card)).json()[
        "code"] == "session_wrong_terminal"


def test_a_saved_procedure_shows_in_the_cached_list_and_submit(kiosk, warm,
                                                               household_certificate):
    household_certificate.name_fr = "Composition de ménage (extrait)"
    household_certificate.fee_kiosk = 300
    household_certificate.save()
    listing = kiosk.call("get", "procedures/?lang=fr").json()
    assert listing[0]["fee_cents"] == 300
    assert submit(kiosk, warm, "new fee")["fee_cents"] == 300


def test_the_fast_case_answer_is_the_documented_one(kiosk, warm):
    """api.serializers.case_out skips DRF's serializer machinery; CaseOut stays the contract."""
    from crm.models import Case
    from kiosk_api.api.serializers import CaseOut, case_out

    for state in ("awaiting_payment", "in_progress"):
        case = Case.objects.select_related("procedure").get(
            reference=submit(kiosk, warm, state)["reference"])
        case.state = state
        case.payment_due = state == "awaiting_payment"
        with translation.override("de"):
            assert case_out(case) == dict(CaseOut(case).data)
