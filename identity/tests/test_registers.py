import datetime
import os
import pathlib
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from core.registry import Registry
from identity.registers import BisRegistration, RegisterAdapter, get_adapter
from identity.selectors import register_lookup, register_search
from identity.tests.conftest import make_person


def test_register_lookup_accepts_separators_and_refuses_invalid_numbers(db):
    person = make_person()
    formatted = f"{person.number[:2]}.{person.number[2:4]}.{person.number[4:6]}-{person.number[6:9]}.{person.number[9:]}"
    assert register_lookup(formatted) == person
    wrong_check = person.number[:-2] + f"{(int(person.number[-2:]) + 1) % 100:02d}"
    assert register_lookup(wrong_check) is None
    assert register_lookup("not a number") is None
    assert register_lookup("") is None


def test_register_search_ignores_case_and_accents_and_needs_the_birth_date(db):
    birth = datetime.date(1970, 1, 2)
    dupre = make_person(last_name="Dupré", birth_date=birth)
    make_person(last_name="Dupré", birth_date=datetime.date(1971, 1, 2))
    make_person(last_name="Dupont", birth_date=birth)
    assert register_search(last_name="DUPRE", birth_date=birth) == [dupre]
    assert register_search(last_name="", birth_date=birth) == []


def test_local_adapter_creates_bis_entries_with_valid_unique_numbers(db):
    adapter = get_adapter()
    reg = BisRegistration(first_names="Anna", last_name="Nowak", birth_date=datetime.date(1990, 5, 6),
                          birth_place="Kraków", gender="F", nationality="PL")
    first = adapter.create_bis(reg)
    second = adapter.create_bis(reg)
    assert first.number != second.number
    assert first.number_kind == "bis" and first.number[2:4] == "45"
    assert register_lookup(second.number) == second


def test_the_adapter_is_chosen_by_setting(settings):
    settings.IDENTITY_REGISTER_ADAPTER = "federal-not-installed"
    with pytest.raises(ImproperlyConfigured, match="Choose one of: local"):
        get_adapter()
    settings.IDENTITY_REGISTER_ADAPTER = "local"
    assert get_adapter().identifier == "local"


def test_an_unknown_adapter_stops_the_process_at_start_up():
    """No federal adapter ships (the federal register is not reachable from here): naming
    one is a configuration error at start-up, not a failure at the first search."""
    env = {**os.environ, "IDENTITY_REGISTER_ADAPTER": "federal"}
    env.pop("PYTEST_XDIST_WORKER", None)
    started = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", "import django; django.setup()"], env=env,
        capture_output=True, text=True, timeout=120, check=False,
        cwd=str(pathlib.Path(__file__).resolve().parents[2]))
    assert started.returncode != 0
    assert "ImproperlyConfigured" in started.stderr
    assert "IDENTITY_REGISTER_ADAPTER='federal'" in started.stderr
    fine = subprocess.run(  # noqa: S603
        [sys.executable, "-c", "import django; django.setup()"],
        env={**env, "IDENTITY_REGISTER_ADAPTER": "local"}, capture_output=True, text=True,
        timeout=120, check=False, cwd=str(pathlib.Path(__file__).resolve().parents[2]))
    assert fine.returncode == 0, fine.stderr


def test_an_adapter_missing_a_method_cannot_be_registered():
    local_registry = Registry[RegisterAdapter]("test-registers")

    with pytest.raises(TypeError, match="create_bis"):
        @local_registry.register("half-done")
        class HalfDone(RegisterAdapter):
            def lookup(self, number):
                return None

            def search(self, *, last_name, birth_date, limit=50):
                return []

    assert "half-done" not in local_registry


def test_system_checks_report_a_wrong_adapter_and_a_partial_oidc_setup(settings):
    from identity.checks import identity_configuration

    assert identity_configuration(None) == []
    settings.IDENTITY_REGISTER_ADAPTER = "nope"
    settings.OIDC_RP_CLIENT_ID = "guichet"
    ids = {m.id for m in identity_configuration(None)}
    assert ids == {"identity.E001", "identity.W001"}
