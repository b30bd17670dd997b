"""Reads of the identity app, used by the portal, the back office and the terminal API."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _

from core.errors import NotFound
from core.roles import in_group
from identity.constants import GROUP_ACCESS_MANAGER, GROUP_LRA_OFFICER, AssuranceLevel
from identity.models import Activation, DigitalKey, IdentityAuditEvent, Person, User

# The level the current login gave, stored in the session at login (identity.services).
SESSION_ASSURANCE_KEY = "identity.assurance_level"


def assurance_level_of(request: HttpRequest) -> AssuranceLevel:
    """The assurance level of this request's login: NONE when anonymous."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return AssuranceLevel.NONE
    return AssuranceLevel(int(request.session.get(SESSION_ASSURANCE_KEY, AssuranceLevel.NONE)))

# How the current login was made (identity.constants.LoginMethod).
SESSION_LOGIN_METHOD_KEY = "identity.login_method"


def login_method_of(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return ""
    return str(request.session.get(SESSION_LOGIN_METHOD_KEY, ""))


# --- registers (through the adapter chosen in settings) ----------------------------------

def register_lookup(number: str) -> Person | None:
    """The register entry with this national register or BIS number (separators allowed),
    or None when the number is invalid or unknown."""
    from identity.numbers import compact, number_kind
    from identity.registers import get_adapter

    number = compact(number or "")
    if number_kind(number) is None:
        return None
    return get_adapter().lookup(number)


def register_search(*, last_name: str, birth_date: datetime.date, limit: int = 50) -> list[Person]:
    """Register entries with this last name (case and accents ignored) and birth date."""
    from identity.registers import get_adapter

    if not (last_name or "").strip() or birth_date is None:
        return []
    return get_adapter().search(last_name=last_name, birth_date=birth_date, limit=limit)


# --- roles ------------------------------------------------------------------------------

def _in_group(user: Any, name: str) -> bool:
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return in_group(user, name)


def is_lra_officer(user: Any) -> bool:
    """Holds the role "Local Registration Officer - activation code" (or is a superuser)."""
    return _in_group(user, GROUP_LRA_OFFICER)


def can_manage_access(user: Any) -> bool:
    return _in_group(user, GROUP_ACCESS_MANAGER)


def is_staff_member(user: Any) -> bool:
    """Users of the back office: they log in with a password and a second factor."""
    if user is None or not user.is_authenticated:
        return False
    return bool(user.is_superuser or user.is_staff
                or user.has_perm("wagtailadmin.access_admin"))


def has_second_factor(user: Any) -> bool:
    """A confirmed django-otp device (authenticator app or backup codes)."""
    from django_otp import user_has_device

    return bool(user is not None and user.is_authenticated and user_has_device(user))


def second_factor_of(user: User) -> dict[str, Any]:
    """What a staff member has as second factor: the confirmed authenticator apps and how
    many unused backup codes are left (the codes themselves are never shown again)."""
    from django_otp.plugins.otp_static.models import StaticToken
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return {
        "authenticators": list(TOTPDevice.objects.filter(user=user, confirmed=True)
                               .order_by("created_at", "pk")),
        "backup_codes_left": StaticToken.objects.filter(device__user=user,
                                                        device__confirmed=True).count(),
    }


def staff_without_second_factor(user_ids: list[int]) -> set[int]:
    """Of these staff accounts, the ones that have no confirmed second factor yet."""
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    enrolled = set(TOTPDevice.objects.filter(user_id__in=user_ids, confirmed=True)
                   .values_list("user_id", flat=True))
    enrolled |= set(StaticDevice.objects.filter(user_id__in=user_ids, confirmed=True)
                    .values_list("user_id", flat=True))
    return set(user_ids) - enrolled


def staff_for_role_management() -> QuerySet[User]:
    return (User.objects.filter(person__isnull=True, is_active=True)
            .prefetch_related("groups").order_by("last_name", "first_name", "username"))


# --- keys and activations ---------------------------------------------------------------

def keys_of(user: User) -> QuerySet[DigitalKey]:
    return DigitalKey.objects.filter(user=user, revoked_at__isnull=True).order_by("created_at")


def key_of_user(*, user: User, key_id: int) -> DigitalKey:
    key = DigitalKey.objects.filter(user=user, pk=key_id, revoked_at__isnull=True).first()
    if key is None:
        raise NotFound(_("This digital key does not exist."))
    return key


def activations_of_person(person: Person) -> QuerySet[Activation]:
    return Activation.objects.filter(person=person).select_related("issued_by", "revoked_by")


def audit_events_of_person(person: Person, limit: int = 50) -> list[IdentityAuditEvent]:
    return list(IdentityAuditEvent.objects.filter(person=person).select_related("actor")[:limit])


def audit_events(*, action: str = "") -> QuerySet[IdentityAuditEvent]:
    events = IdentityAuditEvent.objects.select_related("actor", "person", "subject_user")
    return events.filter(action=action) if action else events


def person_get(person_id: int) -> Person:
    person = (Person.objects.select_related("address", "household")
              .prefetch_related("documents").filter(pk=person_id).first())
    if person is None:
        raise NotFound(_("This person is not in the register."))
    return person
