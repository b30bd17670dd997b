"""Fixtures of the signing tests: a real test PKI (Certomancer) on loopback with its TSA and
OCSP responder, a SoftHSM token filled by `certomancer alch`, the CSC dummy service, and cases
made through crm's real intake service."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from core.testing import require_tool

PKI_DIR = Path(__file__).parent / "pki"
CATALOGUE = Path(django_settings.BASE_DIR) / "catalogue" / "data" / "procedures.json"
SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
KEY_NAMES = ["root", "ocsp", "tsa", "seal", "citizen", "stranger-root", "stranger-signer"]
PKCS12_PASSPHRASE = "test-only-pkcs12"  # noqa: S105 - throwaway key made for this run
TOKEN_PIN = "4321"  # noqa: S105 - throwaway SoftHSM token made for this run
TOKEN_LABEL = "guichet-test"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"service exited early with code {process.returncode}")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


@dataclass
class TestPki:
    folder: Path
    config_path: Path
    port: int
    config: object

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def arch(self, label: str = "guichet"):
        return self.config.get_pki_arch(label)

    def cert(self, label: str, arch: str = "guichet"):
        return self.arch(arch).get_cert(label)

    def write_pem(self, label: str, arch: str = "guichet") -> str:
        from asn1crypto import pem

        path = self.folder / f"{arch}-{label}.cert.pem"
        path.write_bytes(pem.armor("CERTIFICATE", self.cert(label, arch).dump()))
        return str(path)

    def write_pkcs12(self, label: str, arch: str = "guichet") -> str:
        path = self.folder / f"{arch}-{label}.p12"
        if not path.exists():
            path.write_bytes(self.arch(arch).package_pkcs12(
                label, password=PKCS12_PASSPHRASE.encode()))
        return str(path)

    @property
    def tsa_url(self) -> str:
        return f"{self.url}/guichet/tsa/tsa"


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> TestPki:
    """The test PKI: keys generated now (none is committed), URLs on a free loopback port."""
    from certomancer.registry import CertomancerConfig
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    folder = tmp_path_factory.mktemp("pki")
    port = free_port()
    text = (PKI_DIR / "certomancer.yml").read_text()
    text = text.replace('external-url-prefix: "http://127.0.0.1:9000"',
                        f'external-url-prefix: "http://127.0.0.1:{port}"')
    config_path = folder / "certomancer.yml"
    config_path.write_text(text)
    (folder / "keys").mkdir()
    for name in KEY_NAMES:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (folder / "keys" / f"{name}.key.pem").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
    return TestPki(folder=folder, config_path=config_path, port=port,
                   config=CertomancerConfig.from_file(str(config_path)))


@pytest.fixture(scope="session")
def pki_services(pki):
    """`certomancer animate`: the TSA, OCSP responder and CRLs over HTTP on loopback."""
    log = open(pki.folder / "animate.log", "wb")  # noqa: SIM115 - closed at teardown
    process = subprocess.Popen(  # noqa: S603 - fixed arguments
        [_bin("certomancer"), "--config", str(pki.config_path), "animate", "--port",
         str(pki.port), "--no-web-ui"], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(pki.port, process)
        yield pki
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@pytest.fixture(scope="session")
def softhsm_token(pki, tmp_path_factory):
    """A fresh SoftHSM token (own SOFTHSM2_CONF) holding the seal key, written by
    `certomancer alch`. The environment variable is set for the whole test process, before
    the PKCS#11 module is first loaded."""
    util = require_tool("softhsm2-util", package="softhsm2")
    if not os.path.exists(SOFTHSM_MODULE):
        require_tool(SOFTHSM_MODULE, package="softhsm2")
    folder = tmp_path_factory.mktemp("softhsm")
    (folder / "tokens").mkdir()
    conf = folder / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {folder / 'tokens'}\nobjectstore.backend = file\n"
                    "log.level = ERROR\n")
    previous = os.environ.get("SOFTHSM2_CONF")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    env = {**os.environ, "SOFTHSM2_CONF": str(conf)}
    subprocess.run([util, "--init-token", "--free", "--label", TOKEN_LABEL,  # noqa: S603
                    "--pin", TOKEN_PIN, "--so-pin", "87654321"], check=True, env=env,
                   capture_output=True)
    subprocess.run([_bin("certomancer"), "--config", str(pki.config_path), "alch",  # noqa: S603
                    "--module", SOFTHSM_MODULE, "--token-label", TOKEN_LABEL, "--pin",
                    TOKEN_PIN, "--cert", "seal", "--include-chain", "guichet"],
                   check=True, env=env, capture_output=True)
    yield {"conf": str(conf), "label": TOKEN_LABEL, "pin": TOKEN_PIN, "key_label": "seal"}
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)


@pytest.fixture(scope="session")
def csc_service(pki):
    """certomancer-csc-dummy on loopback (SCAL2: signatures bound to the hashes)."""
    port = free_port()
    log = open(pki.folder / "csc.log", "wb")  # noqa: SIM115 - closed at teardown
    process = subprocess.Popen(  # noqa: S603 - fixed arguments
        [_bin("certomancer-csc"), str(pki.config_path), str(port), "2"],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def _use_seal(settings, **values) -> None:
    from signing import backends

    settings.SIGNING_TSA_URL = ""
    settings.SIGNING_LTV = True
    settings.SIGNING_CHAIN_PATHS = []
    settings.SIGNING_VALIDATION_FETCH = False
    for name, value in values.items():
        setattr(settings, name, value)
    backends.reset_sealer()


@pytest.fixture
def seal_pkcs12(settings, pki):
    """The seal key from a PKCS#12 file; B-B (no TSA)."""
    _use_seal(settings, SIGNING_SEAL_BACKEND="pkcs12", SIGNING_PKCS12_PATH=pki.write_pkcs12("seal"),
              SIGNING_PKCS12_PASSPHRASE=PKCS12_PASSPHRASE,
              SIGNING_TRUST_ROOTS=[pki.write_pem("root")])
    yield pki
    from signing import backends

    backends.reset_sealer()


@pytest.fixture
def seal_ltv(seal_pkcs12, settings, pki_services):
    """PKCS#12 key + Certomancer TSA + OCSP: documents are PAdES B-LT."""
    settings.SIGNING_TSA_URL = pki_services.tsa_url
    return pki_services


@pytest.fixture
def seal_pkcs11(settings, pki, softhsm_token):
    _use_seal(settings, SIGNING_SEAL_BACKEND="pkcs11", SIGNING_PKCS11_MODULE=SOFTHSM_MODULE,
              SIGNING_PKCS11_TOKEN_LABEL=softhsm_token["label"],
              SIGNING_PKCS11_PIN=softhsm_token["pin"],
              SIGNING_PKCS11_KEY_LABEL=softhsm_token["key_label"],
              SIGNING_PKCS11_CERT_LABEL="", SIGNING_SOFTHSM2_CONF=softhsm_token["conf"],
              SIGNING_TRUST_ROOTS=[pki.write_pem("root")])
    yield pki
    from signing import backends

    backends.reset_sealer()


# --- catalogue, register and cases ---------------------------------------------------------


def catalogue_entries() -> dict[str, dict]:
    return {p["code"]: p for p in json.loads(CATALOGUE.read_text())["procedures"]}


def make_procedure(code: str, *, free: bool = True):
    """The catalogue's real entry for `code` (fees zeroed when `free`)."""
    from catalogue.models import Procedure

    entry = catalogue_entries()[code]
    fields = {
        "code": code, "category": entry["category"], "department": entry["department"],
        "workflow_kind": entry["workflow_kind"], "delivery": entry["delivery"],
        "required_assurance_level": entry["required_assurance_level"],
        "sla_days": entry["sla_days"],
        "one_open_case_per_person": False,
        "attachments": [], "form_schema": entry["form_schema"], "active": True,
    }
    for lang in ("fr", "nl", "en", "de"):
        fields[f"name_{lang}"] = entry["name"][lang]
    channels = entry.get("channels") or ["web"]
    for channel in ("web", "mobile", "kiosk", "counter"):
        fields[f"offered_{channel}"] = channel in channels or channel == "web"
        fields[f"fee_{channel}"] = 0 if free else int(entry.get("fees", {}).get(channel, 0))
    procedure, _ = Procedure.objects.update_or_create(code=code, defaults=fields)
    return procedure


# Values for fields whose pattern a generic generator cannot guess.
_PATTERN_VALUES = {"plate": "1-ABC-123", "card_number": "592123456789", "vat_number": "BE0123456789",
                   "phone": "+3225551234", "postal_code": "1000", "doc_stop_reference": "123456"}


def form_data_for(procedure, *, language: str = "fr") -> dict:
    """Valid answers to every field of the procedure's form (checked with the catalogue's
    validator, so a change in the catalogue shows up here, not as a confusing failure)."""
    from catalogue.forms_schema import validate_form_data

    schema = procedure.form_schema
    data: dict = {}
    today = timezone.localdate()
    for name, spec in schema.get("properties", {}).items():
        kind = spec.get("type")
        if name == "document_language":
            # Civil-status extracts exist in the official languages only (no English).
            if language in spec.get("enum", [language]):
                data[name] = language
            elif name in schema.get("required", []):
                data[name] = spec["enum"][0]
        elif "enum" in spec:
            data[name] = spec["enum"][0]
        elif kind == "boolean":
            data[name] = True
        elif kind in ("integer", "number"):
            data[name] = spec.get("minimum", 1)
        elif kind == "array":
            items = spec.get("items", {})
            data[name] = items.get("enum", ["x"])[:1]
        elif spec.get("format") == "date":
            offset = {"return_date": 30, "child_birth_date": -3000,
                      "event_date": -3000}.get(name, 14)
            data[name] = (today + dt.timedelta(days=offset)).isoformat()
        elif spec.get("format") == "email":
            data[name] = "citizen@example.org"
        elif name in _PATTERN_VALUES:
            data[name] = _PATTERN_VALUES[name]
        else:
            data[name] = "Test"[: spec.get("maxLength", 4)] if "pattern" not in spec else ""
    errors = validate_form_data(schema, {k: v for k, v in data.items() if v != ""})
    assert not errors, f"form data for {procedure.code} invalid: {errors}"
    return {k: v for k, v in data.items() if v != ""}


@pytest.fixture
def household(db):
    """A household of three in the register: the head, a partner and a child."""
    from identity.models import Address, Household, Person

    address = Address.objects.create(street="Rue de la Loi", number="16", postal_code="1000",
                                     municipality="Bruxelles")
    home = Household.objects.create(address=address)
    head = Person.objects.create(
        number="85073003328", number_kind="national", first_names="Marie Élise",
        last_name="Dupont", birth_date=dt.date(1985, 7, 30), birth_place="Bruxelles",
        gender="F", nationality="BE", address=address, household=home, is_household_head=True,
        civil_state="married")
    partner = Person.objects.create(
        number="83020112345", number_kind="national", first_names="Jan",
        last_name="Peeters", birth_date=dt.date(1983, 2, 1), birth_place="Gent", gender="M",
        nationality="BE", address=address, household=home, civil_state="married")
    child = Person.objects.create(
        number="15061012367", number_kind="national", first_names="Lotte",
        last_name="Peeters", birth_date=dt.date(2015, 6, 10), birth_place="Bruxelles",
        gender="F", nationality="BE", address=address, household=home)
    return {"head": head, "partner": partner, "child": child, "address": address}


@pytest.fixture
def citizen(household):
    from identity.models import User

    return User.objects.create_user(username="marie", email="marie@example.org",
                                    person=household["head"], preferred_language="fr")


@pytest.fixture
def other_citizen(db):
    from identity.models import Person, User

    person = Person.objects.create(
        number="90010112397", number_kind="national", first_names="Paul", last_name="Autre",
        birth_date=dt.date(1990, 1, 1), gender="M")
    return User.objects.create_user(username="paul", person=person)


@pytest.fixture
def approved_case(citizen):
    """Submit through crm's intake and get the approved case (instant procedures are
    approved at once when free), for any catalogue code."""
    from crm.services import case_submit
    from identity.constants import AssuranceLevel

    def _make(code: str = "household-composition", *, language: str = "fr",
              requester=None):
        procedure = make_procedure(code)
        case = case_submit(procedure=procedure, requester=requester or citizen, channel="web",
                           data=form_data_for(procedure, language=language),
                           assurance_level=AssuranceLevel.HIGH, language=language)
        if case.state != "approved":
            from crm.models import Case
            from crm.workflow import CaseState

            # Reviewed procedures: an agent's approval is crm's business; here the case is
            # moved straight to the state signing starts from.
            Case.objects.filter(pk=case.pk).update(state=CaseState.APPROVED)
            case.refresh_from_db()
        return case

    return _make


@pytest.fixture
def staff_supervisor(db):
    from django.contrib.auth.models import Group

    from identity.models import User

    user = User.objects.create_user(username="supervisor", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name="Case supervisor")[0])
    return user
