"""In a real browser: a citizen requests a civil-status extract on the portal, an agent
claims it and asks for information, the citizen answers, the agent approves, and the citizen
sees the new state."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from catalogue.services import catalogue_load, catalogue_read
from crm.models import Case
from crm.tests.uihelpers import (
    make_citizen,
    make_queue,
    make_staff,
    staff_client,
)
from identity.constants import AssuranceLevel
from identity.selectors import SESSION_ASSURANCE_KEY

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PROCEDURE = "birth-certificate"  # a civil-status extract, reviewed by an agent


def load_procedure(code: str) -> None:
    data = catalogue_read()
    catalogue_load(data={**data, "procedures": [p for p in data["procedures"]
                                                 if p["code"] == code]})


def browser_context(chromium_browser, live_server, client: Client):
    """A Playwright context logged in as the test client's user (its session cookie)."""
    context = chromium_browser.new_context(locale="en-GB", viewport={"width": 1280,
                                                                     "height": 900})
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value,
                          "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return context, page, errors


def test_citizen_and_agent_work_a_civil_status_request_to_approval(chromium_browser,
                                                                   live_server):
    load_procedure(PROCEDURE)
    citizen = make_citizen("Dubois")
    agent = make_staff("agent", "Case agent")
    make_queue("civil_status", members=(agent,), code="civil-status")

    citizen_login = Client()
    citizen_login.force_login(citizen)
    session = citizen_login.session
    session[SESSION_ASSURANCE_KEY] = int(AssuranceLevel.SUBSTANTIAL)
    session.save()
    citizen_ctx, citizen_page, citizen_errors = browser_context(chromium_browser, live_server,
                                                                citizen_login)
    agent_ctx, agent_page, _agent_errors = browser_context(chromium_browser, live_server,
                                                           staff_client(agent))
    try:
        # 1. The citizen fills the form and sends it.
        citizen_page.goto(f"{live_server.url}/en/requests/new/{PROCEDURE}/")
        citizen_page.select_option("select[name=relation]", "self")
        citizen_page.fill("input[name=person_last_name]", "Dubois")
        citizen_page.fill("input[name=person_first_names]", "Marie")
        citizen_page.fill("input[name=event_date]", "1987-05-04")
        # The act first, then the document (two steps in the catalogue), then the summary.
        citizen_page.click("button[name=action][value=next]")
        citizen_page.wait_for_url(re.compile(r"step=2"))
        assert "Step 2 of 3" in citizen_page.inner_text(".steps__current")
        citizen_page.check("input[name=document_kind][value=extract]")
        citizen_page.check("input[name=document_language][value=fr]")
        citizen_page.click("button[name=action][value=next]")
        citizen_page.wait_for_url(re.compile(r"step=3"))
        assert "Dubois" in citizen_page.inner_text(".summary")
        citizen_page.click("button[name=action][value=next]")
        citizen_page.wait_for_url(re.compile(r"/sent/$"))
        reference = citizen_page.inner_text(".reference").strip()
        case = Case.objects.get(reference=reference)
        assert case.state == "in_progress" and case.data["person_first_names"] == "Marie"

        # 2. The agent claims it from the queue and asks for information.
        agent_page.goto(f"{live_server.url}/admin/crm/cases/")
        assert reference in agent_page.inner_text("table")
        agent_page.click("form[action$='/claim-next/'] button")
        agent_page.wait_for_url(re.compile(rf"/admin/crm/cases/{reference}/$"))
        agent_page.click("#action-request_information summary")
        agent_page.fill("#id_request_information-message",
                        "Please tell us the municipality of birth.")
        agent_page.click("#action-request_information button[type=submit]")
        agent_page.wait_for_selector("#case-state .badge--awaiting_citizen")

        # 3. The citizen answers on their case page.
        citizen_page.goto(f"{live_server.url}/en/requests/{reference}/")
        assert "municipality of birth" in citizen_page.inner_text(".messages-thread")
        citizen_page.fill("#id_body", "Brussels (Laeken).")
        citizen_page.click("form[action$='/reply/'] button[type=submit]")
        citizen_page.wait_for_selector("#case-state .badge--in_progress")

        # 4. The agent approves.
        agent_page.goto(f"{live_server.url}/admin/crm/cases/{reference}/")
        assert "Brussels (Laeken)." in agent_page.inner_text("body")
        agent_page.click("#action-approve summary")
        agent_page.click("#action-approve button[type=submit]")
        agent_page.wait_for_selector("#case-state .badge--approved, #case-state "
                                     ".badge--issued, #case-state .badge--closed")

        # 5. The citizen sees the new state.
        citizen_page.goto(f"{live_server.url}/en/requests/{reference}/")
        state = citizen_page.get_attribute("#case-state .badge", "class")
        assert any(s in state for s in ("badge--approved", "badge--issued", "badge--closed"))
        assert "Approved" in citizen_page.inner_text("#case-state").title() or \
            "issued" in state or "closed" in state
        assert citizen_errors == []
    finally:
        citizen_ctx.close()
        agent_ctx.close()
