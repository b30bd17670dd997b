"""eID/itsme through an OpenID Connect provider: the full redirect dance against a real
provider on loopback (see oidc_provider.py), the ID token checked with its JWKS."""

from urllib.parse import parse_qs, urlparse

import pytest
import requests

from identity.constants import AssuranceLevel, AuditAction
from identity.models import IdentityAuditEvent, User
from identity.selectors import SESSION_ASSURANCE_KEY
from identity.tests.conftest import make_person
from identity.tests.oidc_provider import LocalOpenIDProvider


@pytest.fixture
def provider(settings, db):
    with LocalOpenIDProvider(client_id="guichet", client_secret="s3cret-for-tests") as op:
        for name, value in op.settings().items():
            setattr(settings, name, value)
        yield op


def dance(client, provider, next_url=None):
    """Login page -> RP authenticate -> OP authorize -> RP callback."""
    start = "/oidc/authenticate/" + (f"?next={next_url}" if next_url else "")
    to_op = client.get(start)
    assert to_op.status_code == 302 and to_op["Location"].startswith(provider.base)
    query = parse_qs(urlparse(to_op["Location"]).query)
    assert query["code_challenge_method"] == ["S256"]
    back = requests.get(to_op["Location"], allow_redirects=False, timeout=5)
    assert back.status_code == 302
    callback = urlparse(back.headers["Location"])
    return client.get(callback.path + "?" + callback.query)


def test_oidc_login_maps_the_national_number_to_the_person_and_gives_level_high(client, provider):
    person = make_person()
    provider.claims = {"sub": "fas-123", "egovNRN": person.number, "email": "eid@example.org"}
    page = client.get("/fr/account/login/")
    assert "/oidc/authenticate/" in page.content.decode()
    response = dance(client, provider, next_url="/fr/requests/new/X/")
    assert response.status_code == 302 and response["Location"] == "/fr/requests/new/X/"
    user = User.objects.get(person=person)
    assert int(client.session["_auth_user_id"]) == user.pk
    assert client.session[SESSION_ASSURANCE_KEY] == AssuranceLevel.HIGH
    assert IdentityAuditEvent.objects.filter(action=AuditAction.LOGIN_SUCCESS,
                                             details__method="oidc").exists()
    # a second login reuses the same account
    client.post("/fr/account/logout/")
    dance(client, provider)
    assert User.objects.filter(person=person).count() == 1


def test_oidc_login_of_someone_not_in_the_register_fails_cleanly(client, provider, db):
    provider.claims = {"sub": "fas-999", "egovNRN": "85073003328"}
    response = dance(client, provider)
    assert response.status_code == 302 and response["Location"].endswith("?failed=oidc")
    assert "_auth_user_id" not in client.session
    assert IdentityAuditEvent.objects.filter(action=AuditAction.LOGIN_FAILURE).exists()


def test_a_token_signed_by_another_key_is_refused(client, provider, db):
    person = make_person()
    provider.claims = {"sub": "x", "egovNRN": person.number}
    from cryptography.hazmat.primitives.asymmetric import rsa

    provider.rogue_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    response = dance(client, provider)
    assert response.status_code == 302 and response["Location"].endswith("?failed=oidc")
    assert "_auth_user_id" not in client.session


def test_oidc_is_hidden_and_inert_when_not_configured(client, db, settings):
    settings.OIDC_RP_CLIENT_ID = ""
    assert "/oidc/authenticate/" not in client.get("/en/account/login/").content.decode()
    response = client.get("/oidc/authenticate/")
    assert response.status_code == 302 and "/account/login/" in response["Location"]
