"""The statistics page and its CSV export: figures, charts with a table alternative, access."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.test import Client
from django.utils import timezone

from crm import services
from crm.models import Case
from crm.tests.uihelpers import (
    assert_refused,
    citizen_client,
    make_citizen,
    make_person,
    make_procedure,
    make_queue,
    make_staff,
    staff_client,
)
from identity.constants import AssuranceLevel

pytestmark = pytest.mark.django_db

STATS = "/admin/crm/stats/"
DATA = {"purpose": "work", "copies": 1, "email": "a@b.be"}


@pytest.fixture
def figures():
    """Five requests in civil status (3 web, 1 mobile, 1 counter), two closed after 2 and
    4 days; one request in demography that the civil-status supervisor must not count."""
    supervisor = make_staff("boss", "Case supervisor")
    counter = make_staff("desk", "Counter agent")
    make_queue("civil_status", supervisors=(supervisor,), code="civil")
    make_queue("demography", code="demo")
    proc = make_procedure(department="civil_status", attachments=[], offered_mobile=True)
    other = make_procedure(department="demography", attachments=[])
    citizen = make_citizen()
    cases = [services.case_submit(procedure=proc, requester=citizen, channel=channel,
                                  data=DATA, assurance_level=AssuranceLevel.HIGH)
             for channel in ("web", "web", "web", "mobile")]
    cases.append(services.case_submit(procedure=proc, requester=None, person=make_person(),
                                      channel="counter", data=DATA, acting_agent=counter))
    services.case_submit(procedure=other, requester=citizen, channel="web", data=DATA,
                         assurance_level=AssuranceLevel.HIGH)
    now = timezone.now()
    for case, days in zip(cases[:2], (2, 4), strict=True):
        Case.objects.filter(pk=case.pk).update(created_at=now - dt.timedelta(days=days),
                                               closed_at=now, state="closed")
    return {"supervisor": supervisor, "proc": proc, "other": other}


def test_supervisor_sees_the_figures_of_their_department(figures):
    response = staff_client(figures["supervisor"]).get(STATS)
    assert response.status_code == 200
    context = response.context
    assert context["total"] == 5
    assert context["online_share"] == pytest.approx(4 / 5)
    assert context["closed"] == 2
    assert context["close_average"] == pytest.approx(3.0, abs=0.01)
    [close] = context["close_rows"]
    assert close["median"] == pytest.approx(3.0, abs=0.01)
    assert close["p90"] == pytest.approx(3.8, abs=0.01)
    [row] = context["procedure_rows"]
    assert row["code"] == figures["proc"].code and row["counts"] == [3, 1, 0, 1]
    body = response.content.decode()
    assert '<svg class="crm-chart"' in body and 'role="img"' in body
    assert "<table" in body and "80 %" in body


def test_csv_export_has_the_monthly_rows_and_the_delays(figures):
    response = staff_client(figures["supervisor"]).get(STATS + "export.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["month", "procedure", "procedure_name", "channel", "requests", "online"]
    # per channel over the months of the default period (the last twelve): two cases were
    # backdated by days, which early in a month puts them in the month before
    data: dict[str, int] = {}
    for row in rows[1:]:
        if len(row) == 6 and row[0][:2] == "20":
            data[row[3]] = data.get(row[3], 0) + int(row[4])
    assert data == {"web": 3, "mobile": 1, "counter": 1}
    assert figures["other"].code not in response.content.decode()
    close = rows[rows.index(["procedure", "closed_requests", "days_to_close_average",
                             "days_to_close_median", "days_to_close_p90"]) + 1]
    assert close[:3] == [figures["proc"].code, "2", "3.00"]


def test_a_period_without_requests_shows_an_empty_state(figures):
    body = staff_client(figures["supervisor"]).get(
        STATS + "?start=2001-01-01&end=2001-02-01").content.decode()
    assert "No request in this period." in body


def test_bad_period_values_fall_back_to_the_default(figures):
    for query in ("?start=notadate", "?start=2030-01-01&end=2020-01-01", "?end=2026-13-45"):
        assert staff_client(figures["supervisor"]).get(STATS + query).status_code == 200


def test_agents_citizens_and_anonymous_have_no_statistics(figures):
    agent = make_staff("agent", "Case agent")
    make_queue("civil_status", members=(agent,))
    assert_refused(staff_client(agent).get(STATS))
    assert_refused(staff_client(agent).get(STATS + "export.csv"))
    citizen = citizen_client(make_citizen("Other"))
    assert_refused(citizen.get(STATS))
    assert Client().get(STATS + "export.csv").status_code == 302
