"""The LRA flow in a real browser (headless Chromium): the officer logs in with a second
factor, finds the person in the register, issues the activation and prints the start card;
the citizen opens the e-mailed link, types the code, creates an e-mail key and an
authenticator-app key, logs out, and logs in with each."""

from __future__ import annotations

import datetime
import re

import pyotp
import pytest
from django.core import mail
from django.core.cache import cache
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from identity.constants import GROUP_LRA_OFFICER
from identity.models import Address, DigitalKey, Person, User
from identity.numbers import make_number

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Officer-password-2026"


@pytest.fixture(autouse=True)
def _clear_rate_limits():
    cache.clear()


def make_officer(username: str, **names) -> User:
    from django.contrib.auth.models import Group, Permission

    user = User.objects.create_user(username=username, password=PASSWORD, is_staff=True,
                                    **names)
    # transactional tests flush the groups the data migration made: set the role up again
    group = Group.objects.get_or_create(name=GROUP_LRA_OFFICER)[0]
    group.permissions.add(Permission.objects.get(content_type__app_label="wagtailadmin",
                                                 codename="access_admin"))
    user.groups.add(group)
    return user


def password_login(page, base: str, username: str, then: str) -> None:
    """The back-office login form, then the page the second-factor step sends to."""
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("form button[type=submit], form input[type=submit]").first.click()
    page.wait_for_url(re.compile(rf".*/account/staff/{then}/.*"))


@pytest.fixture
def officer():
    user = make_officer("sarah", first_name="Sarah", last_name="Lemmens",
                        email="sarah@city.example")
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return user, device


@pytest.fixture
def person():
    address = Address.objects.create(street="Rue Blaes", number="42", postal_code="1000",
                                     municipality="Bruxelles")
    birth = datetime.date(1988, 4, 12)
    return Person.objects.create(number=make_number(birth_date=birth, serial=122),
                                 number_kind="national", first_names="Léa", last_name="Dubois",
                                 birth_date=birth, gender="F", address=address)


def test_officer_issues_an_activation_and_the_citizen_creates_and_uses_two_keys(
        live_server, page, officer, person, browser_context_factory):
    user, device = officer
    base = live_server.url

    # --- the officer: password, then second factor ----------------------------------------
    password_login(page, base, "sarah", then="verify")
    token = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    page.fill("#id_token", token)
    page.get_by_role("button", name=re.compile("Vérifier|Verify")).click()
    page.wait_for_url(re.compile(r"^https?://[^/]+/admin/$"))

    # --- find the person by name and birth date --------------------------------------------
    page.goto(f"{base}/admin/lra/")
    page.fill("#id_last_name", "dubois")
    page.fill("#id_birth_date", "1988-04-12")
    page.locator("form.lra-form button[type=submit]").click()
    page.get_by_role("link", name="Léa Dubois").click()
    page.fill("#id_email", "lea.dubois@example.org")
    page.select_option("#id_language", "fr")
    page.locator("form.lra-form button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/admin/lra/activation/\d+/card/"))
    code = page.locator("#activation-code").inner_text().strip()
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", code)
    assert "Votre code d'activation" in page.content()
    # the start card prints on one A4 page, without the screen toolbar
    page.emulate_media(media="print")
    assert not page.locator(".toolbar").is_visible()
    pdf = page.pdf(format="A4", prefer_css_page_size=True)
    page_counts = re.findall(rb"/Type\s*/Pages\b[^>]*?/Count (\d+)|/Count (\d+)[^>]*?/Type\s*/Pages\b",
                             pdf)
    assert page_counts and all(b"".join(count) == b"1" for count in page_counts)
    page.emulate_media(media="screen")

    # --- the e-mail ------------------------------------------------------------------------
    assert mail.outbox[-1].to == ["lea.dubois@example.org"]
    link = re.search(r"https?://\S+/fr/account/activate/\S+/", mail.outbox[-1].body).group(0)
    path = link[link.index("/fr/account/"):]

    # --- the citizen, in a browser of their own -------------------------------------------
    citizen = browser_context_factory()
    citizen.goto(f"{base}{path}")
    citizen.get_by_label(re.compile("Code d'activation")).fill(code.lower().replace("-", " "))
    citizen.get_by_role("button", name="Continuer").click()
    citizen.wait_for_url(re.compile(r".*/account/keys/new/$"))

    # e-mail key
    citizen.get_by_role("link", name="Créer une clé par e-mail").click()
    citizen.get_by_role("button", name="Envoyez-moi un code").click()
    email_code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    citizen.get_by_label("Code de sécurité").fill(email_code)
    citizen.get_by_role("button", name="Créer la clé").click()
    citizen.wait_for_url(re.compile(r".*/account/keys/$"))
    assert "Code par e-mail à lea.dubois@example.org" in citizen.content()

    # authenticator app key
    citizen.get_by_role("link", name="Ajouter une clé").click()
    citizen.get_by_role("link", name="Configurer une application d'authentification").click()
    secret = citizen.locator("#totp-secret").get_attribute("data-secret")
    app = pyotp.TOTP(secret)
    citizen.get_by_label("Code affiché par l'application").fill(app.now())
    citizen.get_by_label("Nom de cette clé").fill("Mon téléphone")
    citizen.get_by_role("button", name="Créer la clé").click()
    citizen.wait_for_url(re.compile(r".*/account/keys/$"))
    assert "Mon téléphone" in citizen.content()
    assert DigitalKey.objects.filter(user__person=person, revoked_at__isnull=True).count() == 2

    # log out, log in with the e-mail key
    citizen.locator("#main").get_by_role("button", name="Se déconnecter").click()
    citizen.goto(f"{base}/fr/account/login/?next=/fr/account/keys/")
    citizen.locator("#h-email + p + form").get_by_label("Adresse e-mail").fill(
        "lea.dubois@example.org")
    citizen.get_by_role("button", name="Envoyez-moi un code").click()
    login_code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    citizen.get_by_label("Code de sécurité").fill(login_code)
    citizen.get_by_role("button", name="Se connecter").click()
    citizen.wait_for_url(re.compile(r".*/fr/account/keys/$"))
    assert "faible" in citizen.content()  # assurance level low

    # log out, log in with the authenticator app (the next time step: codes are single-use)
    citizen.locator("#main").get_by_role("button", name="Se déconnecter").click()
    citizen.goto(f"{base}/fr/account/login/?next=/fr/account/keys/")
    form = citizen.locator("#h-totp + form")
    form.get_by_label("Adresse e-mail").fill("lea.dubois@example.org")
    form.get_by_label("Code affiché par votre application d'authentification").fill(
        app.at(timezone.now() + datetime.timedelta(seconds=30)))
    form.get_by_role("button", name="Se connecter").click()
    citizen.wait_for_url(re.compile(r".*/fr/account/keys/$"))
    assert "substantiel" in citizen.content()
    assert citizen.console_errors == []


@pytest.fixture
def browser_context_factory(chromium_browser):
    contexts = []

    def make():
        context = chromium_browser.new_context(locale="fr-BE")
        contexts.append(context)
        new_page = context.new_page()
        new_page.set_default_timeout(15_000)
        new_page.console_errors = []
        new_page.on("console", lambda msg: msg.type == "error"
                    and new_page.console_errors.append(f"{msg.text} {msg.location}"))
        return new_page

    yield make
    for context in contexts:
        context.close()


def test_a_citizen_creates_a_passkey_and_logs_in_with_it(live_server, page, person, officer):
    """The passkey JavaScript against Chromium's virtual authenticator (DevTools WebAuthn
    domain): a real platform credential, created and used through navigator.credentials."""
    from identity import services

    user, _device = officer
    issued = services.activation_issue(officer=user, person=person,
                                       email="lea.dubois@example.org", language="en")
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True}})
    base = live_server.url
    page.goto(f"{base}/en/account/activate/{issued.link_token}/")
    page.get_by_label("Activation code").fill(issued.code)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("link", name="Create a passkey").click()
    page.get_by_label("Name of this key").fill("Laptop")
    page.get_by_role("button", name="Create the passkey").click()
    page.wait_for_url(re.compile(r"^https?://[^/]+/en/account/keys/$"))
    assert "Laptop" in page.content()
    page.locator("#main").get_by_role("button", name="Log out").click()
    page.goto(f"{base}/en/account/login/?next=/en/account/keys/")
    page.get_by_role("button", name="Log in with a passkey").click()
    page.wait_for_url(re.compile(r"^https?://[^/]+/en/account/keys/$"))
    assert "substantial" in page.content()
    assert page.console_errors == []


def test_a_new_officer_sets_up_the_second_factor_before_the_back_office_opens(live_server,
                                                                               page):
    """A staff member without a second factor: after the password, the set-up page (QR code
    and key), a code from the app, the backup codes shown once, then the back office."""
    user = make_officer("new.officer", first_name="Nina", last_name="Nieuw")
    base = live_server.url
    password_login(page, base, "new.officer", then="enrol")
    assert page.get_by_role("heading", name="Configurez votre second facteur").is_visible()
    assert page.get_by_role("img", name=re.compile("QR")).is_visible()
    # the back office stays closed while the set-up is not confirmed
    page.goto(f"{base}/admin/lra/")
    page.wait_for_url(re.compile(r".*/account/staff/enrol/.*"))
    secret = page.locator("#totp-secret").get_attribute("data-secret")
    page.get_by_label("Code à 6 chiffres affiché par l'application").fill(
        pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirmer et continuer").click()
    codes = page.locator("#backup-codes li").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("link", name=re.compile("continuer vers le back-office")).click()
    page.wait_for_url(re.compile(r".*/admin/lra/$"))
    assert TOTPDevice.objects.get(user=user).confirmed
