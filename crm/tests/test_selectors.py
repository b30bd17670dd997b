"""Who sees which case, and the back-office list (filters, keyset pages, query count)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.errors import ValidationFailed
from crm import selectors
from crm.errors import CaseNotFound
from crm.tests import factories as f
from crm.workflow import CaseState, Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(queue, agent, supervisor):
    """Two departments; a citizen with a web case and a counter case; another citizen."""
    other_queue = f.QueueFactory(department="cleanliness")
    other_agent = f.agent_of(other_queue)
    citizen = f.CitizenFactory()
    mine = f.CaseFactory(queue=queue, requester=citizen)
    at_counter = f.CaseFactory(queue=other_queue, requester=None, person=citizen.person,
                               channel="counter",
                               procedure=f.ProcedureFactory(department="cleanliness"))
    theirs = f.CaseFactory(queue=queue)
    return {"citizen": citizen, "mine": mine, "at_counter": at_counter, "theirs": theirs,
            "agent": agent, "supervisor": supervisor, "other_agent": other_agent,
            "other_queue": other_queue}


def test_citizen_sees_every_case_of_theirs_from_every_channel_and_nothing_else(world):
    citizen = world["citizen"]
    assert set(selectors.cases_of_citizen(citizen)) == {world["mine"], world["at_counter"]}
    assert set(selectors.cases_visible_to(citizen)) == {world["mine"], world["at_counter"]}
    with pytest.raises(CaseNotFound):
        selectors.case_get_for_user(user=citizen, reference=world["theirs"].reference)
    assert selectors.case_get_for_user(user=citizen,
                                       reference=world["mine"].reference.lower()) == world["mine"]


def test_agent_sees_only_their_queues(world):
    visible = set(selectors.cases_visible_to(world["agent"]))
    assert visible == {world["mine"], world["theirs"]}
    assert set(selectors.cases_visible_to(world["other_agent"])) == {world["at_counter"]}
    with pytest.raises(CaseNotFound):
        selectors.case_get_for_user(user=world["other_agent"],
                                    reference=world["mine"].reference)


def test_supervisor_sees_every_queue_of_their_department(world, queue):
    second = f.QueueFactory(code="civil-status-2", department="civil_status",
                            is_default=False)
    extra = f.CaseFactory(queue=second)
    assert set(selectors.cases_visible_to(world["supervisor"])) == {
        world["mine"], world["theirs"], extra}
    assert set(selectors.queues_of(world["supervisor"])) == {queue, second}
    assert Role.SUPERVISOR in selectors.roles_on_case(world["supervisor"], extra)
    assert Role.AGENT not in selectors.roles_on_case(world["supervisor"], extra)


def test_anonymous_and_inactive_see_nothing(world):
    from django.contrib.auth.models import AnonymousUser

    assert not selectors.cases_visible_to(AnonymousUser()).exists()
    world["agent"].is_active = False
    world["agent"].save()
    assert not selectors.cases_visible_to(world["agent"]).exists()


def test_timeline_for_the_citizen_hides_internal_events(world, agent):
    from crm import services

    case = world["mine"]
    services.case_claim(case=case, agent=agent)
    services.case_add_note(case=case, author=agent, body="internal")
    kinds_all = [e.kind for e in selectors.case_timeline(case)]
    kinds_public = [e.kind for e in selectors.case_timeline(case, public_only=True)]
    assert "claimed" in kinds_all and "note" in kinds_all
    assert kinds_public == ["created"]


# --- the back-office list ------------------------------------------------------------

def _cases(queue, n, **kwargs):
    base = timezone.now() - dt.timedelta(days=1)
    return [f.CaseFactory(queue=queue, created_at=base + dt.timedelta(minutes=i), **kwargs)
            for i in range(n)]


def test_keyset_pages_cover_everything_once_newest_first(queue, agent):
    procedure = f.ProcedureFactory()
    cases = _cases(queue, 12, procedure=procedure)
    seen = []
    page = selectors.case_list_page(user=agent, limit=5)
    seen += page.items
    while page.has_next:
        page = selectors.case_list_page(user=agent, after=page.next_cursor, limit=5)
        seen += page.items
    assert [c.pk for c in seen] == [c.pk for c in reversed(cases)]


def test_list_page_runs_a_fixed_number_of_queries(queue, agent):
    _cases(queue, 30, procedure=f.ProcedureFactory())
    with CaptureQueriesContext(connection) as ctx:
        page = selectors.case_list_page(user=agent, limit=20)
        shown = [(case.procedure.name, case.person.last_name, case.queue.name,
                  case.assignee and case.assignee.username) for case in page.items]
    assert len(shown) == 20  # what the list shows costs no query per row
    assert len(ctx.captured_queries) <= 3
    assert not any("COUNT(" in q["sql"].upper() for q in ctx.captured_queries)


def test_list_filters(queue, agent, other_agent):
    procedure = f.ProcedureFactory(code="birth-x")
    now = timezone.now()
    overdue = f.CaseFactory(queue=queue, procedure=procedure, sla_due_at=now - dt.timedelta(1))
    mine = f.CaseFactory(queue=queue, assignee=agent, channel="counter",
                         sla_due_at=now + dt.timedelta(days=30))
    waiting = f.CaseFactory(queue=queue, state=CaseState.AWAITING_CITIZEN,
                            sla_due_at=now + dt.timedelta(days=30))
    closed = f.CaseFactory(queue=queue, state=CaseState.CLOSED)
    closed.person.last_name = "Vandenbroucke"
    closed.person.save()

    def ids(**filters):
        return {c.pk for c in selectors.case_list_page(user=agent, filters=filters).items}

    assert ids(state="awaiting_citizen") == {waiting.pk}
    assert ids(state="open") == {overdue.pk, mine.pk, waiting.pk}
    assert ids(procedure="birth-x") == {overdue.pk}
    assert ids(channel="counter") == {mine.pk}
    assert ids(assignee="me") == {mine.pk}
    assert ids(assignee="none") == {overdue.pk, waiting.pk, closed.pk}
    assert ids(sla="overdue") == {overdue.pk}
    assert ids(q="vandenb") == {closed.pk}
    assert ids(q=waiting.reference.lower()) == {waiting.pk}
    assert ids(queue=queue.code) == {overdue.pk, mine.pk, waiting.pk, closed.pk}


@pytest.mark.parametrize(("filters", "after"), [
    ({"state": "lost"}, None), ({"channel": "fax"}, None), ({"sla": "soon"}, None),
    ({"assignee": "bob"}, None), ({}, "not-a-cursor"), ({}, "bm9wZQ"),
])
def test_bad_list_input_is_a_validation_error_not_a_crash(agent, filters, after):
    with pytest.raises(ValidationFailed):
        selectors.case_list_page(user=agent, filters=filters, after=after)


def test_bad_page_size_is_a_validation_error(agent):
    with pytest.raises(ValidationFailed):
        selectors.case_list_page(user=agent, limit="many")
