"""Authentication backends.

Citizens never authenticate with a password: a digital key is checked by identity.services,
which then logs the user in through DigitalKeyBackend (it only restores the user from the
session). The federal OIDC backend maps the national number of an eID/itsme login to the
register and to the citizen's account.
"""

from __future__ import annotations

import logging

import jwt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from identity.numbers import compact
from identity.selectors import register_lookup

logger = logging.getLogger(__name__)


def oidc_configured() -> bool:
    return bool(settings.OIDC_RP_CLIENT_ID and settings.OIDC_OP_AUTHORIZATION_ENDPOINT
                and settings.OIDC_OP_TOKEN_ENDPOINT)


class StaffPasswordBackend(ModelBackend):
    """Passwords are for staff only: a citizen account never logs in with one, even if a
    password was set on it by mistake."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        from identity.services import staff_password_checked

        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if username is None or password is None:
            return None  # not a password login (OIDC, digital keys)
        user = super().authenticate(request, username=username, password=password, **kwargs)
        reason = ""
        if user is not None and getattr(user, "person_id", None) is not None:
            user, reason = None, "citizen_account"
        staff_password_checked(request=request, username=str(username)[:150], user=user,
                               reason=reason)
        return user


class DigitalKeyBackend(ModelBackend):
    def authenticate(self, request, **credentials):
        return None  # keys are verified by identity.services, never by a password


class FederalOIDCBackend(OIDCAuthenticationBackend):
    """eID and itsme through the federal authentication service (level high)."""

    def authenticate(self, request, **kwargs):
        if not oidc_configured():
            return None
        return super().authenticate(request, **kwargs)

    def verify_token(self, token, **kwargs):
        # A bad signature or nonce is a failed login for the citizen (a clear page and an
        # audit event), not a 400; it is still logged as suspicious.
        try:
            return super().verify_token(token, **kwargs)
        except (SuspiciousOperation, jwt.PyJWTError) as exc:
            logger.warning("oidc token refused: %s", exc)
            return None

    def get_userinfo(self, access_token, id_token, payload):
        # The national number may come in the ID token or from the userinfo endpoint.
        claims = dict(payload)
        if settings.OIDC_OP_USER_ENDPOINT:
            claims.update(super().get_userinfo(access_token, id_token, payload))
        return claims

    def _national_number(self, claims) -> str:
        return compact(str(claims.get(settings.OIDC_NATIONAL_NUMBER_CLAIM) or ""))

    def verify_claims(self, claims):
        return bool(self._national_number(claims))

    def filter_users_by_claims(self, claims):
        person = register_lookup(self._national_number(claims))
        if person is None:
            return self.UserModel.objects.none()
        return self.UserModel.objects.filter(person=person, is_active=True)

    def create_user(self, claims):
        from identity.services import citizen_account_for_person

        person = register_lookup(self._national_number(claims))
        if person is None:
            raise SuspiciousOperation("national number not in the register")
        return citizen_account_for_person(person=person, email=claims.get("email", ""))

    def update_user(self, user, claims):
        return user
