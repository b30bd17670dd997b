"""Back office screens for terminals: register (credential shown once), list with silent
terminals, disable, new credential, statistics; and who may see them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.utils import timezone

from identity.models import User
from kiosk_api.models import Terminal, TerminalCredential

pytestmark = pytest.mark.django_db


def staff_client(user: User) -> Client:
    """Logged in past the second factor (a django-otp static device verified in the session,
    as identity's middleware expects)."""
    from django_otp.plugins.otp_static.models import StaticDevice
    from wagtail.users.models import UserProfile

    profile = UserProfile.get_for_user(user)
    profile.preferred_language = "en"
    profile.save()
    device, _created = StaticDevice.objects.get_or_create(user=user, name="test")
    client = Client()
    client.force_login(user)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    return client


def staff(username: str, *codenames: str) -> User:
    user = User.objects.create_user(username=username, password="x" * 16, is_staff=True)
    group = Group.objects.create(name=f"group-{username}")
    group.permissions.add(Permission.objects.get(codename="access_admin"))
    for codename in codenames:
        group.permissions.add(Permission.objects.get(codename=codename,
                                                     content_type__app_label="kiosk_api"))
    user.groups.add(group)
    return user


@pytest.fixture
def manager():
    return staff_client(staff("manager", "view_terminal", "add_terminal", "change_terminal",
                              "view_terminal_statistics"))


def test_register_shows_the_credential_once_and_it_works(manager):
    response = manager.post("/admin/kiosk/register/", {
        "code": "haren-01", "branch": "haren", "location": "Entrance hall"})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    terminal = Terminal.objects.get(code="haren-01")
    credential = TerminalCredential.objects.get(terminal=terminal)
    start = html.index(f"Terminal {credential.key_id}:")
    authorization = html[start:html.index("<", start)].strip()
    from rest_framework.test import APIClient

    api = APIClient().get("/api/kiosk/v1/terminal/", HTTP_AUTHORIZATION=authorization)
    assert api.status_code == 200 and api.json()["code"] == "haren-01"
    # never shown again
    detail = manager.get("/admin/kiosk/haren-01/").content.decode()
    assert authorization.split(":")[1] not in detail


def test_register_refuses_a_duplicate_code_with_a_message(manager, kiosk):
    response = manager.post("/admin/kiosk/register/", {
        "code": "centre-01", "branch": "haren", "location": ""})
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert Terminal.objects.count() == 1


def test_register_records_the_card_readers_stripe_location(manager):
    response = manager.post("/admin/kiosk/register/", {
        "code": "haren-02", "branch": "haren", "stripe_location": "not-a-location"})
    assert response.status_code == 200
    assert "starts with tml_" in response.content.decode()
    assert not Terminal.objects.filter(code="haren-02").exists()
    manager.post("/admin/kiosk/register/", {
        "code": "haren-02", "branch": "haren", "stripe_location": "tml_FDOt9wlaZ4x1xx"})
    assert Terminal.objects.get(code="haren-02").stripe_location == "tml_FDOt9wlaZ4x1xx"
    assert "tml_FDOt9wlaZ4x1xx" in manager.get("/admin/kiosk/haren-02/").content.decode()


def test_list_shows_last_heartbeat_and_the_silent_terminals(manager, kiosk, other_kiosk,
                                                            settings):
    kiosk.call("post", "terminal/heartbeat/", data={"devices": {"paper": "empty"}})
    Terminal.objects.filter(pk=other_kiosk.terminal.pk).update(
        last_heartbeat_at=timezone.now() - dt.timedelta(
            seconds=settings.KIOSK_SILENT_AFTER_SECONDS + 60))
    html = manager.get("/admin/kiosk/").content.decode()
    assert "centre-01" in html and "laeken-01" in html and "out of paper" in html
    silent = manager.get("/admin/kiosk/?silent=1").content.decode()
    assert "laeken-01" in silent and "centre-01" not in silent


def test_disable_from_the_back_office_refuses_the_next_call(manager, kiosk):
    response = manager.post("/admin/kiosk/centre-01/do/disable/", {"reason": "screen broken"})
    assert response.status_code == 302
    assert kiosk.call("get", "terminal/").status_code == 403
    manager.post("/admin/kiosk/centre-01/do/enable/")
    assert kiosk.call("get", "terminal/").status_code == 200


def test_new_credential_from_the_back_office_revokes_the_old(manager, kiosk):
    response = manager.post("/admin/kiosk/centre-01/do/credential/")
    assert response.status_code == 200 and "Terminal kt" in response.content.decode()
    assert kiosk.call("get", "terminal/").status_code == 401


def test_statistics_per_terminal_and_csv(manager, kiosk, citizen, card, household_certificate):
    token = kiosk.open_session(card)
    kiosk.call("post", "requests/", session=token, data={
        "procedure": "household-composition", "data": {"purpose": "school"}})
    html = manager.get("/admin/kiosk/statistics/").content.decode()
    assert "centre-01" in html
    csv = manager.get("/admin/kiosk/statistics/export.csv").content.decode()
    assert csv.splitlines()[1].startswith("centre-01,") and ",1,0,1" in csv.splitlines()[1]


def test_staff_without_the_permissions_are_refused(kiosk):
    client = staff_client(staff("agent"))
    for url in ("/admin/kiosk/", "/admin/kiosk/register/", "/admin/kiosk/statistics/",
                "/admin/kiosk/centre-01/"):
        response = client.get(url)
        assert response.status_code in (302, 403)
        assert response.status_code == 403 or "/admin/" in response["Location"]
    assert client.post("/admin/kiosk/centre-01/do/disable/", {"reason": "x"}).status_code \
        in (302, 403)
    assert Terminal.objects.get().is_active


def test_viewer_cannot_register_or_disable(kiosk):
    client = staff_client(staff("viewer", "view_terminal"))
    assert client.get("/admin/kiosk/").status_code == 200
    assert client.post("/admin/kiosk/register/", {"code": "x-1", "branch": "haren"}).status_code \
        in (302, 403)
    client.post("/admin/kiosk/centre-01/do/disable/", {"reason": "x"})
    assert Terminal.objects.get().is_active and Terminal.objects.count() == 1


def test_details_are_changed_from_the_back_office_and_kept_in_the_history(manager, kiosk):
    details = "/admin/kiosk/centre-01/do/details/"
    assert kiosk.call("get", "terminal/").json()["location"] == "Ground floor"  # now cached
    refused = manager.post(details, {"branch": "haren", "location": "Hall B",
                                     "stripe_location": "tml-wrong"}, follow=True)
    assert "starts with tml_" in refused.content.decode()
    assert Terminal.objects.get().branch == "administrative_centre"  # nothing saved

    saved = manager.post(details, {"branch": "haren", "location": "Hall B",
                                   "stripe_location": "tml_FDOt9wlaZ4x1xx"}, follow=True)
    html = saved.content.decode()
    assert "The details of terminal centre-01 are saved." in html
    terminal = Terminal.objects.get()
    assert (terminal.branch, terminal.location, terminal.stripe_location) == (
        "haren", "Hall B", "tml_FDOt9wlaZ4x1xx")
    assert "Stripe Terminal location: — → tml_FDOt9wlaZ4x1xx" in html
    assert "Location in the branch: Ground floor → Hall B" in html
    event = terminal.events.get(kind="updated")
    assert event.details["changes"]["stripe_location"] == ["", "tml_FDOt9wlaZ4x1xx"]
    assert event.actor.username == "manager"
    # the terminal's cached credential carried the old place: it was dropped
    assert kiosk.call("get", "terminal/").json()["location"] == "Hall B"
    # the same details again change nothing and write nothing
    manager.post(details, {"branch": "haren", "location": "Hall B",
                           "stripe_location": "tml_FDOt9wlaZ4x1xx"})
    assert terminal.events.filter(kind="updated").count() == 1


def test_a_viewer_cannot_change_the_details(kiosk):
    client = staff_client(staff("viewer", "view_terminal"))
    assert "Save the details" not in client.get("/admin/kiosk/centre-01/").content.decode()
    response = client.post("/admin/kiosk/centre-01/do/details/", {
        "branch": "haren", "location": "", "stripe_location": ""})
    assert response.status_code in (302, 403)
    assert Terminal.objects.get().branch == "administrative_centre"
