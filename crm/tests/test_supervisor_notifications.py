"""Supervisors hear of overdue and escalated cases by e-mail: through the outbox, once per
case and event, each supervisor in their own language."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail

from catalogue.constants import Department
from crm import services
from crm.constants import Topic
from crm.emails import send_staff_notification
from crm.models import OutboxMessage
from crm.outbox import outbox_relay_all
from crm.tasks import staff_notify
from crm.tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(queue):
    """The civil status department: a French- and a Dutch-speaking supervisor (one on a
    second queue of the department), one without an address, an agent; and a supervisor
    of another department."""
    second = f.QueueFactory(code="civil-2", department=Department.CIVIL_STATUS)
    other = f.QueueFactory(department=Department.DEMOGRAPHY)
    return {
        "fr": f.supervisor_of(queue, preferred_language="fr"),
        "nl": f.supervisor_of(second, preferred_language="nl"),
        "silent": f.supervisor_of(queue, email=""),
        "agent": f.agent_of(queue),
        "elsewhere": f.supervisor_of(other),
    }


def staff_mails() -> list:
    return [m for m in mail.outbox if "X-Guichet-Staff-Notification" in m.extra_headers]


def overdue_case(queue):
    return f.CaseFactory(queue=queue, sla_due_at=dt.datetime(2020, 1, 6, 17, tzinfo=dt.UTC))


def test_an_overdue_case_is_mailed_once_to_each_supervisor_in_their_language(team, queue):
    case = overdue_case(queue)
    mail.outbox = []
    assert services.cases_flag_sla()["overdue"] == 1
    rows = OutboxMessage.objects.filter(topic=Topic.STAFF_NOTIFY)
    assert sorted(r.payload["user_id"] for r in rows) == sorted([team["fr"].pk, team["nl"].pk])
    outbox_relay_all()
    sent = {m.to[0]: m for m in staff_mails()}
    assert set(sent) == {team["fr"].email, team["nl"].email}
    french, dutch = sent[team["fr"].email], sent[team["nl"].email]
    assert case.reference in french.subject and case.reference in dutch.subject
    assert french.subject.startswith("La demande")
    assert dutch.subject.startswith("Aanvraag")
    assert f"/admin/crm/cases/{case.reference}/" in french.body
    # the watch runs again, the relay again, a task is delivered twice: nothing more
    assert services.cases_flag_sla()["overdue"] == 0
    outbox_relay_all()
    key = rows.first().dedup_key
    assert staff_notify.delay(key).get() is False
    assert send_staff_notification(outbox_key=key) is False
    assert len(staff_mails()) == 2


def test_the_citizen_gets_no_mail_when_their_case_is_overdue(team, queue):
    overdue_case(queue)
    mail.outbox = []
    services.cases_flag_sla()
    outbox_relay_all()
    assert {m.to[0] for m in mail.outbox} == {team["fr"].email, team["nl"].email}


def test_a_case_escalated_is_mailed_to_the_other_supervisors_with_the_reason(team, queue):
    case = f.CaseFactory(queue=queue, assignee=team["agent"])
    mail.outbox = []
    services.case_escalate(case=case, actor=team["agent"], note="Angry citizen, complex file")
    outbox_relay_all()
    sent = {m.to[0]: m for m in staff_mails()}
    assert set(sent) == {team["fr"].email, team["nl"].email}
    assert "Angry citizen, complex file" in sent[team["fr"].email].body
    assert team["agent"].username in sent[team["fr"].email].body
    assert sent[team["fr"].email].extra_headers["X-Guichet-Staff-Notification"] == "escalated"
    # a supervisor who escalates is not mailed about their own escalation
    mail.outbox = []
    case.escalated = False
    case.save()
    services.case_escalate(case=case, actor=team["fr"], note="Needs the head of service")
    outbox_relay_all()
    assert [m.to[0] for m in staff_mails()] == [team["nl"].email]


def test_a_supervisor_who_left_is_not_mailed(team, queue):
    overdue_case(queue)
    services.cases_flag_sla()
    team["nl"].is_active = False
    team["nl"].save()
    mail.outbox = []
    outbox_relay_all()
    assert [m.to[0] for m in staff_mails()] == [team["fr"].email]
    assert not OutboxMessage.objects.filter(topic=Topic.STAFF_NOTIFY,
                                            processed_at__isnull=True).exists()
