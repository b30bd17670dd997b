import json

from django.core.management import call_command
from django_otp.plugins.otp_totp.models import TOTPDevice
from stdnum.be import bis, nn

from identity.constants import GROUP_LRA_OFFICER, STAFF_GROUPS, KeyKind
from identity.models import DigitalKey, Household, Person, User


def test_demo_register_and_accounts_are_valid_and_idempotent(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    call_command("identity_demo")
    count = Person.objects.count()
    assert count >= 300
    for person in Person.objects.all():
        module = nn if person.number_kind == "national" else bis
        assert module.is_valid(person.number), person.number
        assert module.get_birth_date(person.number) == person.birth_date
        assert module.get_gender(person.number) == person.gender
    assert Person.objects.filter(number_kind="bis").count() >= 30
    assert Household.objects.count() >= 80
    postcodes = set(Person.objects.exclude(address=None)
                    .values_list("address__postal_code", flat=True))
    assert {"1000", "1020", "1120", "1130", "1040", "1050"} <= postcodes
    numbers = set(Person.objects.values_list("number", flat=True))

    call_command("identity_demo")  # again: nothing new, same people
    assert Person.objects.count() == count
    assert set(Person.objects.values_list("number", flat=True)) == numbers

    logins = json.loads((tmp_path / "demo-logins.json").read_text())
    officer = User.objects.get(username="lra.officer")
    assert officer.groups.filter(name=GROUP_LRA_OFFICER).exists()
    assert officer.check_password(logins["lra.officer"]["password"])
    assert "TOTP secret" in logins["lra.officer"]["note"]
    assert TOTPDevice.objects.filter(user=officer, confirmed=True).count() == 1
    for name in STAFF_GROUPS:
        assert User.objects.filter(groups__name=name).exists() or name == GROUP_LRA_OFFICER
    citizens = User.objects.filter(person__isnull=False)
    assert citizens.count() == 2
    for citizen in citizens:
        assert not citizen.has_usable_password()
        assert DigitalKey.objects.filter(user=citizen, kind=KeyKind.EMAIL_OTP).exists()
        assert citizen.email in logins
