import datetime

import pytest

from identity.registers import BisRegistration, get_adapter
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
    with pytest.raises(KeyError):
        get_adapter()
    settings.IDENTITY_REGISTER_ADAPTER = "local"
    assert get_adapter().identifier == "local"


def test_system_checks_report_a_wrong_adapter_and_a_partial_oidc_setup(settings):
    from identity.checks import identity_configuration

    assert identity_configuration(None) == []
    settings.IDENTITY_REGISTER_ADAPTER = "nope"
    settings.OIDC_RP_CLIENT_ID = "guichet"
    ids = {m.id for m in identity_configuration(None)}
    assert ids == {"identity.E001", "identity.W001"}
