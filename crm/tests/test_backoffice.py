"""The back office on the Wagtail admin: case list, case page and its actions, by role."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from crm import services
from crm.models import Case
from crm.tests.uihelpers import (
    PDF,
    assert_not_found,
    assert_refused,
    citizen_client,
    make_citizen,
    make_procedure,
    make_queue,
    make_staff,
    staff_client,
)
from crm.workflow import CaseState
from identity.constants import AssuranceLevel

pytestmark = pytest.mark.django_db

LIST = "/admin/crm/cases/"


@pytest.fixture
def world():
    """Two departments: civil status (agent, colleague, supervisor) and demography (other)."""
    agent = make_staff("agent", "Case agent")
    colleague = make_staff("colleague", "Case agent")
    supervisor = make_staff("boss", "Case supervisor")
    other = make_staff("other", "Case agent")
    civil = make_queue("civil_status", members=(agent, colleague), supervisors=(supervisor,),
                       code="civil")
    demo = make_queue("demography", members=(other,), code="demo")
    civil_proc = make_procedure(department="civil_status")
    demo_proc = make_procedure(department="demography", attachments=[])
    citizen = make_citizen()
    files = [("id_copy", SimpleUploadedFile("id.pdf", PDF, content_type="application/pdf"))]
    data = {"purpose": "work", "copies": 1, "email": "a@b.be"}
    civil_case = services.case_submit(procedure=civil_proc, requester=citizen, channel="web",
                                      data=data, attachments=files,
                                      assurance_level=AssuranceLevel.HIGH)
    demo_case = services.case_submit(procedure=demo_proc, requester=citizen, channel="web",
                                     data=data, assurance_level=AssuranceLevel.HIGH)
    return {"agent": agent, "colleague": colleague, "supervisor": supervisor, "other": other,
            "civil": civil, "demo": demo, "civil_case": civil_case, "demo_case": demo_case,
            "citizen": citizen}


def detail(case):
    return f"/admin/crm/cases/{case.reference}/"


def action(case, name):
    return f"/admin/crm/cases/{case.reference}/do/{name}/"


# --- permissions -------------------------------------------------------------------------


def test_anonymous_is_sent_to_the_admin_login(world):
    for url in (LIST, detail(world["civil_case"]), "/admin/crm/stats/", "/admin/counter/"):
        response = Client().get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url


def test_a_citizen_has_no_back_office(world):
    client = citizen_client(world["citizen"])
    assert_refused(client.get(LIST))
    assert_refused(client.get(detail(world["civil_case"])))


def test_unverified_staff_must_pass_the_second_factor(world):
    client = Client()
    client.force_login(world["agent"])
    response = client.get(LIST)
    assert response.status_code == 302 and "next=" in response["Location"]


def test_agent_lists_only_the_cases_of_their_queues(world):
    body = staff_client(world["agent"]).get(LIST).content.decode()
    assert world["civil_case"].reference in body
    assert world["demo_case"].reference not in body
    other = staff_client(world["other"]).get(LIST).content.decode()
    assert world["demo_case"].reference in other and world["civil_case"].reference not in other


def test_agent_of_another_queue_gets_a_404_on_the_case_and_its_actions(world):
    client = staff_client(world["other"])
    case = world["civil_case"]
    assert_not_found(client.get(detail(case)))
    assert_not_found(client.post(action(case, "claim")))
    assert_not_found(client.post(action(case, "note"), {"note-body": "x"}))
    attachment = case.attachments.get()
    assert_not_found(client.get(f"{detail(case)}files/{attachment.pk}/"))
    case.refresh_from_db()
    assert case.assignee is None and not case.notes.exists()


def test_supervisor_sees_their_department(world):
    client = staff_client(world["supervisor"])
    body = client.get(LIST).content.decode()
    assert world["civil_case"].reference in body and world["demo_case"].reference not in body
    assert client.get(detail(world["civil_case"])).status_code == 200


def test_staff_without_queue_has_no_case_list(world):
    client = staff_client(make_staff("editor", "Content editor"))
    assert_refused(client.get(LIST))


# --- list ----------------------------------------------------------------------------------


def test_filters_and_search(world):
    client = staff_client(world["supervisor"])
    case = world["civil_case"]
    assert case.reference in client.get(LIST + "?state=in_progress").content.decode()
    assert case.reference not in client.get(LIST + "?state=approved").content.decode()
    assert case.reference in client.get(LIST + f"?q={case.reference}").content.decode()
    assert case.reference in client.get(LIST + "?q=Janss").content.decode()
    assert case.reference not in client.get(LIST + "?q=Nobody").content.decode()
    assert case.reference in client.get(LIST + "?assignee=none").content.decode()
    assert case.reference not in client.get(LIST + "?assignee=me").content.decode()
    assert case.reference in client.get(LIST + "?channel=web").content.decode()
    assert case.reference not in client.get(LIST + "?channel=counter").content.decode()
    proc = case.procedure.code
    assert case.reference in client.get(LIST + f"?procedure={proc}").content.decode()
    assert "No request matches these filters" in client.get(
        LIST + "?sla=past").content.decode()


def test_bad_filter_values_and_cursors_never_give_a_500(world):
    client = staff_client(world["agent"])
    for query in ("?state=nonsense", "?channel=fax", "?assignee=zz", "?after=%%%",
                  "?after=bm90LWEtY3Vyc29y", "?sla=whenever", "?queue=unknown"):
        assert client.get(LIST + query).status_code == 200, query


def test_keyset_pagination_walks_all_cases_once(world, settings):
    from crm import admin_views

    citizen = world["citizen"]
    proc = make_procedure(department="civil_status", attachments=[])
    for _ in range(7):
        services.case_submit(procedure=proc, requester=citizen, channel="web",
                             data={"purpose": "work", "copies": 1, "email": "a@b.be"},
                             assurance_level=AssuranceLevel.HIGH)
    old = admin_views.LIST_LIMIT
    admin_views.LIST_LIMIT = 3
    try:
        client = staff_client(world["agent"])
        seen, url = [], LIST
        for _ in range(10):
            response = client.get(url)
            page = response.context["page"]
            seen += [c.reference for c in page.items]
            if not response.context["next_url"]:
                break
            url = LIST + response.context["next_url"]
    finally:
        admin_views.LIST_LIMIT = old
    expected = list(Case.objects.filter(queue=world["civil"]).order_by("-created_at", "-id")
                    .values_list("reference", flat=True))
    assert seen == expected and len(seen) == 8


def test_claim_next_gives_the_agent_a_case_and_says_so_when_empty(world):
    client = staff_client(world["agent"])
    response = client.post("/admin/crm/queues/civil/claim-next/")
    case = world["civil_case"]
    assert response.status_code == 302 and response["Location"].endswith(detail(case))
    case.refresh_from_db()
    assert case.assignee == world["agent"]
    response = client.post("/admin/crm/queues/civil/claim-next/", follow=True)
    assert "No request is waiting" in response.content.decode()
    assert_not_found(client.post("/admin/crm/queues/demo/claim-next/"))


def test_bulk_assign_to_me_and_to_a_colleague(world):
    client = staff_client(world["supervisor"])
    case = world["civil_case"]
    response = client.post("/admin/crm/cases/bulk-assign/",
                           {"reference": [case.reference, world["demo_case"].reference],
                            "agent": str(world["colleague"].pk)})
    assert response.status_code == 302
    case.refresh_from_db()
    world["demo_case"].refresh_from_db()
    assert case.assignee == world["colleague"]
    assert world["demo_case"].assignee is None  # not visible to this supervisor


def test_bulk_assign_without_selection_is_a_message(world):
    client = staff_client(world["agent"])
    response = client.post("/admin/crm/cases/bulk-assign/", {"agent": "me"}, follow=True)
    assert "Choose at least one request" in response.content.decode()


# --- case page and actions ---------------------------------------------------------------


def test_case_page_shows_everything(world):
    case = world["civil_case"]
    client = staff_client(world["agent"])
    body = client.get(detail(case)).content.decode()
    for fragment in (case.reference, "Form data", "Copies", "id.pdf", "Timeline",
                     "Payments", "Documents", "Internal notes", "Messages with the citizen",
                     "Claim"):
        assert fragment in body, fragment
    attachment = case.attachments.get()
    download = client.get(f"{detail(case)}files/{attachment.pk}/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert "no-store" in download["Cache-Control"]


def test_the_agent_works_a_case_to_approval(world):
    case, client = world["civil_case"], staff_client(world["agent"])
    assert client.post(action(case, "claim")).status_code == 302
    body = client.get(detail(case)).content.decode()
    assert "Request information" in body and "Approve" in body
    client.post(action(case, "note"), {"note-body": "Checked the register"})
    client.post(action(case, "request_information"),
                {"request_information-message": "Which year?"})
    case.refresh_from_db()
    assert case.state == CaseState.AWAITING_CITIZEN
    reply = services.case_citizen_reply(case=case, citizen=world["citizen"], body="1987")
    assert "1987" in client.get(detail(case)).content.decode()
    reply.refresh_from_db()
    assert reply.read_at is not None
    client.post(action(case, "message"), {"message-body": "Thanks"})
    response = client.post(action(case, "approve"), {"approve-note": ""})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.APPROVED
    assert case.notes.get().body == "Checked the register"
    assert list(case.messages.values_list("body", flat=True)) == ["Which year?", "1987",
                                                                  "Thanks"]


def test_refused_action_is_a_message_not_an_error_page(world):
    case = world["civil_case"]
    client = staff_client(world["colleague"])
    services.case_claim(case=case, agent=world["agent"])
    response = client.post(action(case, "approve"), {"approve-note": ""}, follow=True)
    assert response.status_code == 200
    assert "not assigned to you" in response.content.decode()
    case.refresh_from_db()
    assert case.state == CaseState.IN_PROGRESS


def test_reject_needs_a_reason_shown_on_the_field(world):
    case, client = world["civil_case"], staff_client(world["agent"])
    client.post(action(case, "claim"))
    response = client.post(action(case, "reject"), {"reject-reason": ""})
    assert response.status_code == 400
    assert 'id="id_reject-reason_errors"' in response.content.decode()
    client.post(action(case, "reject"), {"reject-reason": "Not born in Brussels"})
    case.refresh_from_db()
    assert case.state == CaseState.REJECTED


def test_supervisor_reassigns_and_escalation_is_recorded(world):
    case = world["civil_case"]
    client = staff_client(world["supervisor"])
    client.post(action(case, "assign"), {"assign-agent": world["colleague"].pk})
    case.refresh_from_db()
    assert case.assignee == world["colleague"]
    # an agent of another queue is not a valid choice
    response = client.post(action(case, "assign"), {"assign-agent": world["other"].pk})
    assert response.status_code == 400
    staff_client(world["colleague"]).post(action(case, "escalate"),
                                          {"escalate-note": "Complex file"})
    case.refresh_from_db()
    assert case.escalated and case.assignee == world["colleague"]


def test_unknown_action_is_404_and_get_is_405(world):
    case, client = world["civil_case"], staff_client(world["agent"])
    assert_not_found(client.post(action(case, "explode")))
    assert client.get(action(case, "claim")).status_code == 405


def test_actions_require_csrf(world):
    case = world["civil_case"]
    client = staff_client(world["agent"])
    client.handler.enforce_csrf_checks = True
    assert client.post(action(case, "claim")).status_code == 403
    case.refresh_from_db()
    assert case.assignee is None


def test_cases_menu_is_shown_to_agents_only(world):
    body = staff_client(world["agent"]).get("/admin/").content.decode()
    assert "/admin/crm/cases/" in body
    editor = make_staff("editor", "Content editor")
    assert "/admin/crm/cases/" not in staff_client(editor).get("/admin/").content.decode()


def test_the_wagtail_permission_policy_follows_queues_and_departments(world):
    from crm.admin_views import case_permission_policy as policy

    case, demo_case = world["civil_case"], world["demo_case"]
    assert policy.user_has_permission(world["agent"], "view")
    assert not policy.user_has_permission(world["agent"], "delete")
    assert not policy.user_has_permission(world["citizen"], "view")
    assert policy.user_has_permission_for_instance(world["agent"], "change", case)
    assert not policy.user_has_permission_for_instance(world["other"], "view", case)
    assert policy.user_has_permission_for_instance(world["supervisor"], "view", case)
    assert not policy.user_has_permission_for_instance(world["supervisor"], "view", demo_case)
    assert set(policy.instances_user_has_permission_for(world["supervisor"], "view")) == {case}
    assert not policy.instances_user_has_permission_for(world["citizen"], "view").exists()
    viewers = set(policy.users_with_permission("view"))
    assert {world["agent"], world["supervisor"], world["other"]} <= viewers
    assert world["citizen"] not in viewers


def test_the_case_list_costs_the_same_queries_whatever_the_number_of_cases(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = staff_client(world["supervisor"])
    client.get(LIST)

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(LIST).status_code == 200
        return len(ctx.captured_queries)

    before = count()
    proc = make_procedure(department="civil_status", attachments=[])
    for _ in range(6):
        services.case_submit(procedure=proc, requester=make_citizen(), channel="web",
                             data={"purpose": "work", "copies": 1, "email": "a@b.be"},
                             assurance_level=AssuranceLevel.HIGH)
    assert count() == before


# Session, user, second factor, the user's permissions (2), the Wagtail profile; the CIRM's
# own: the user's queues and groups (the groups shared with every app's menu item through
# core.roles), the agents, the procedures, the page; the Wagtail chrome: locales, page and
# collection permissions.
LIST_PAGE_QUERIES = 14


def test_the_whole_list_page_runs_a_fixed_number_of_queries(
        world, django_assert_max_num_queries):
    from crm.tests import factories as f

    client = staff_client(world["supervisor"])
    client.get(LIST)
    with django_assert_max_num_queries(LIST_PAGE_QUERIES):
        assert client.get(LIST).status_code == 200
    # fifty more cases, each with its own procedure, citizen and agent, some escalated,
    # some waiting for the citizen: nothing may be read per row
    for i in range(50):
        agent = f.agent_of(world["civil"])
        f.CaseFactory(queue=world["civil"], assignee=agent,
                      procedure=make_procedure(department="civil_status"),
                      escalated=i % 7 == 0,
                      state=CaseState.AWAITING_CITIZEN if i % 3 else CaseState.IN_PROGRESS)
    with django_assert_max_num_queries(LIST_PAGE_QUERIES):
        response = client.get(LIST)
    body = response.content.decode()
    assert body.count('name="reference"') == 50
    with django_assert_max_num_queries(LIST_PAGE_QUERIES):
        assert client.get(LIST + "?state=awaiting_citizen&assignee=none").status_code == 200


def test_a_page_of_the_list_is_one_query_when_the_queues_are_known(
        world, django_assert_num_queries):
    from crm import selectors

    scope = selectors.staff_scope(world["supervisor"])
    with django_assert_num_queries(1):
        page = selectors.case_list_page(user=world["supervisor"], queue_ids=scope.queue_ids)
        shown = [(c.reference, c.procedure.name, c.person.last_name, c.queue.name,
                  c.assignee and c.assignee.get_full_name()) for c in page.items]
    assert [row[0] for row in shown] == [world["civil_case"].reference]


def test_garbage_posts_in_the_back_office_never_give_a_500(world):
    client = staff_client(world["supervisor"])
    case = world["civil_case"]
    assert client.post("/admin/crm/cases/bulk-assign/",
                       {"reference": ["nope"], "agent": "abc"}).status_code == 302
    assert client.post("/admin/crm/cases/bulk-assign/",
                       {"reference": [case.reference], "agent": "me",
                        "next": "https://evil.example/"})["Location"] == LIST
    assert client.post(action(case, "assign"), {"assign-agent": "zz"}).status_code == 400
    assert client.post(action(case, "note"), {"note-body": "x" * 6000}).status_code == 400


@pytest.mark.parametrize("language", ["fr", "nl", "en", "de"])
def test_list_dates_read_as_djangos_short_formats(language):
    import datetime as dt

    from django.utils import dateformat, timezone, translation
    from django.utils.formats import get_format

    from crm.admin_views import _date_formatter

    moment = timezone.localtime(dt.datetime(2026, 3, 5, 7, 4, 9, tzinfo=dt.UTC))
    with translation.override(language):
        for name in ("SHORT_DATE_FORMAT", "SHORT_DATETIME_FORMAT"):
            fmt = get_format(name)
            assert _date_formatter(fmt)(moment) == dateformat.format(moment, fmt)
