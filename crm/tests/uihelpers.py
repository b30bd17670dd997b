"""Builders and logins shared by the screen tests of crm (citizen pages, back office,
counter, statistics). Plain functions over the real models and services: no mocks."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.test import Client

from catalogue.models import Procedure
from crm.models import Queue
from identity.constants import AssuranceLevel
from identity.models import Person, User
from identity.selectors import SESSION_ASSURANCE_KEY

_seq = itertools.count(1)


def labels(en: str) -> dict[str, str]:
    return {"fr": f"{en} [fr]", "nl": f"{en} [nl]", "en": en, "de": f"{en} [de]"}


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64

STEPPED_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["purpose", "copies", "email"],
    "properties": {
        "purpose": {"type": "string", "enum": ["school", "work"], "x-labels": labels("Purpose"),
                    "x-enum-labels": {"school": labels("School"), "work": labels("Work")}},
        "copies": {"type": "integer", "minimum": 1, "maximum": 5, "x-labels": labels("Copies")},
        "email": {"type": "string", "format": "email", "x-labels": labels("Contact e-mail")},
        "remarks": {"type": "string", "maxLength": 200, "x-widget": "textarea",
                    "x-labels": labels("Remarks")},
    },
    "x-steps": [
        {"title": labels("Purpose"), "fields": ["purpose", "copies"]},
        {"title": labels("Contact"), "fields": ["email", "remarks"]},
    ],
}

ATTACHMENTS = [{"code": "id_copy", "required": True, "content_types": ["application/pdf"],
                "max_bytes": 2000, "label": labels("Copy of your ID")}]


def make_procedure(**overrides: Any) -> Procedure:
    n = next(_seq)
    values: dict[str, Any] = {
        "code": f"test-extract-{n}",
        "name_fr": "Extrait test", "name_nl": "Uittreksel test", "name_en": "Test extract",
        "name_de": "Testauszug",
        "category": "civil_status", "department": "civil_status",
        "workflow_kind": "agent_review", "delivery": "signed_pdf",
        "offered_web": True, "offered_counter": True,
        "fee_web": 0, "fee_counter": 0,
        "required_assurance_level": AssuranceLevel.SUBSTANTIAL,
        "sla_days": 5, "one_open_case_per_person": False,
        "attachments": ATTACHMENTS, "form_schema": STEPPED_SCHEMA,
    }
    values.update(overrides)
    return Procedure.objects.create(**values)


def _nn(birth: dt.date, serial: int) -> str:
    """A national number with a valid checksum (born before 2000)."""
    base = f"{birth:%y%m%d}{serial:03d}"
    check = 97 - int(base) % 97
    return f"{base}{check:02d}"


def make_person(last_name: str = "Janssens", **overrides: Any) -> Person:
    n = next(_seq)
    birth = overrides.pop("birth_date", dt.date(1980, 1, 1) + dt.timedelta(days=n))
    return Person.objects.create(
        number=overrides.pop("number", _nn(birth, 100 + n)), number_kind="national",
        first_names=overrides.pop("first_names", f"Anne{n}"), last_name=last_name,
        birth_date=birth, gender="F", **overrides)


def make_citizen(last_name: str = "Janssens", **person_fields: Any) -> User:
    person = make_person(last_name, **person_fields)
    return User.objects.create(username=f"citizen-{person.number}", person=person,
                               email=f"{person.number}@example.org", preferred_language="fr")


def citizen_client(user: User, level: int = AssuranceLevel.SUBSTANTIAL) -> Client:
    client = Client()
    client.force_login(user)
    session = client.session
    session[SESSION_ASSURANCE_KEY] = int(level)
    session.save()
    return client


def staff_group(name: str) -> Group:
    group, _created = Group.objects.get_or_create(name=name)
    group.permissions.add(Permission.objects.get(codename="access_admin",
                                                 content_type__app_label="wagtailadmin"))
    return group


def make_staff(username: str, *groups: str) -> User:
    user = User.objects.create_user(username=username, password="x" * 16, is_staff=True,
                                    first_name=username.title(), last_name="Agent",
                                    email=f"{username}@city.example")
    for name in groups:
        user.groups.add(staff_group(name))
    # The back office in English for readable assertions (the default is French).
    from wagtail.users.models import UserProfile

    profile = UserProfile.get_for_user(user)
    profile.preferred_language = "en"
    profile.save()
    return user


def staff_client(user: User) -> Client:
    """A logged-in back-office client, past the second factor (a django-otp static device
    verified in the session, as the OTP middleware expects)."""
    from django_otp.plugins.otp_static.models import StaticDevice

    device, _created = StaticDevice.objects.get_or_create(user=user, name="test")
    client = Client()
    client.force_login(user)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    return client


def make_queue(department: str = "civil_status", *, members: tuple = (),
               supervisors: tuple = (), code: str | None = None) -> Queue:
    queue = Queue.objects.create(code=code or f"{department}-{next(_seq)}",
                                 name=f"Queue {department}", department=department)
    queue.members.add(*members)
    queue.supervisors.add(*supervisors)
    return queue


def assert_not_found(response: Any) -> None:
    """A 404. Outside the language prefixes Django's LocaleMiddleware turns a 404 into a
    redirect to /<lang>/<same path> when the Wagtail page catch-all could match it; that
    page is a 404 too, so both mean "not found" (and nothing is revealed)."""
    if response.status_code == 302:
        location = response["Location"]
        assert location.startswith(("/fr/", "/nl/", "/en/", "/de/")), location
        assert location.split("/", 2)[2].startswith("admin/"), location
        return
    assert response.status_code == 404, response.status_code


def assert_refused(response: Any) -> None:
    """Wagtail answers a PermissionDenied in its admin with a redirect to the dashboard and
    a message; elsewhere it is a 403."""
    if response.status_code == 302:
        assert response["Location"] in ("/admin/",) or "/login/" in response["Location"], \
            response["Location"]
        return
    assert response.status_code == 403, response.status_code
