"""Fixtures of the identity tests."""

from __future__ import annotations

import datetime
import itertools

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django_otp.plugins.otp_totp.models import TOTPDevice

from identity.constants import GROUP_ACCESS_MANAGER, GROUP_CASE_AGENT, GROUP_LRA_OFFICER
from identity.models import Address, Person, User
from identity.numbers import make_number

_serials = itertools.count(1)


@pytest.fixture(autouse=True)
def _clear_rate_limits():
    """Rate limits count in the cache (Redis in CI): start every test from zero."""
    cache.clear()
    yield
    cache.clear()


def make_person(*, last_name="Peeters", first_names="Marie", birth_date=datetime.date(1985, 7, 30),
                gender="F", bis=False, **extra) -> Person:
    serial = next(_serials) * 2 + (1 if gender == "M" else 0)
    number = make_number(birth_date=birth_date, serial=serial % 997 or 2,
                         month_offset=40 if bis else 0)
    address = extra.pop("address", None) or Address.objects.create(
        street="Rue Haute", number="10", postal_code="1000", municipality="Bruxelles")
    return Person.objects.create(number=number, number_kind="bis" if bis else "national",
                                 first_names=first_names, last_name=last_name,
                                 birth_date=birth_date, gender=gender, address=address, **extra)


def make_staff(username: str, *groups: str, superuser: bool = False) -> User:
    user = User.objects.create_user(username=username, password="Staff-password-123",
                                    email=f"{username}@city.example", is_staff=True,
                                    is_superuser=superuser)
    for name in groups:
        user.groups.add(staff_group(name))
    return user


def staff_group(name: str) -> Group:
    """The role's group with back-office access, as migration 0003 makes it (made again here
    because transactional tests elsewhere flush the tables)."""
    group = Group.objects.get_or_create(name=name)[0]
    group.permissions.add(Permission.objects.get(content_type__app_label="wagtailadmin",
                                                 codename="access_admin"))
    return group


def verified_client(client, user):
    """A test client logged in as staff, past the second factor (as after /staff/verify/)."""
    device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    client.force_login(user)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def person(db):
    return make_person()


@pytest.fixture
def officer(db):
    return make_staff("officer", GROUP_LRA_OFFICER)


@pytest.fixture
def other_staff(db):
    return make_staff("agent", GROUP_CASE_AGENT)


@pytest.fixture
def manager(db):
    return make_staff("manager", GROUP_ACCESS_MANAGER)


@pytest.fixture
def officer_client(client, officer):
    return verified_client(client, officer)
