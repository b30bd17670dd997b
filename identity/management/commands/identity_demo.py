"""Demo register and accounts: a few hundred synthetic people in households at Brussels
addresses (valid national register and BIS numbers, none of them real), the staff of the
back office with their second factor, and two citizens with digital keys.

Safe to run again: the register is generated from a fixed seed and only once; accounts keep
their password (core.demo) and their second-factor secrets."""

from __future__ import annotations

import base64
import binascii
import datetime
import random

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.demo import demo_password, record_login
from identity import constants as c
from identity.models import Address, DigitalKey, Household, Person, User
from identity.numbers import make_number, serials_for
from identity.services import backup_code_digests

SEED = 20261123
NO_PASSWORD = "(no password: digital key)"  # noqa: S105 - shown in the list of demo logins

# Real streets of the City of Brussels with their postcodes (1000 centre, 1020 Laeken,
# 1120 Neder-Over-Heembeek, 1130 Haren, 1040 and 1050 the European quarter and Louise).
STREETS = [
    ("Rue Neuve", "1000"), ("Rue Haute", "1000"), ("Rue Blaes", "1000"),
    ("Rue Antoine Dansaert", "1000"), ("Rue de Flandre", "1000"), ("Rue des Tanneurs", "1000"),
    ("Boulevard Anspach", "1000"), ("Rue du Midi", "1000"), ("Rue de la Loi", "1000"),
    ("Rue du Marché aux Herbes", "1000"), ("Rue de Laeken", "1000"),
    ("Boulevard Émile Bockstael", "1020"), ("Rue Marie-Christine", "1020"),
    ("Avenue Houba-de Strooper", "1020"), ("Avenue de la Reine", "1020"),
    ("Rue de Ransbeek", "1120"), ("Rue François Vekemans", "1120"),
    ("Chaussée de Vilvorde", "1120"), ("Rue de Verdun", "1130"), ("Rue du Donckel", "1130"),
    ("Rue Cortenbach", "1130"), ("Rue Belliard", "1040"), ("Avenue de Cortenbergh", "1040"),
    ("Rue Froissart", "1040"), ("Avenue Louise", "1050"), ("Rue Defacqz", "1050"),
]
MUNICIPALITY = {"1000": "Bruxelles", "1020": "Laeken", "1120": "Neder-Over-Heembeek",
                "1130": "Haren", "1040": "Bruxelles", "1050": "Bruxelles"}
LAST_NAMES = ["Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens",
              "Wouters", "De Smet", "Dubois", "Lambert", "Dupont", "Martin", "Leroy", "Lemaire",
              "Simon", "Laurent", "Renard", "Michel", "El Amrani", "Benali", "Yilmaz", "Kaya",
              "Nowak", "Kowalski", "Popescu", "Ionescu", "Rossi", "Ferreira", "García",
              "Müller", "Schmidt", "Nguyen", "Diallo", "Mukendi", "Van den Bossche", "Vermeulen"]
FIRST_F = ["Marie", "Emma", "Louise", "Olivia", "Léa", "Nora", "Sofia", "Amira", "Fatima",
           "Elif", "Anna", "Julia", "Camille", "Inès", "Lotte", "Hanne", "Aïcha", "Zofia"]
FIRST_M = ["Lucas", "Noah", "Louis", "Adam", "Arthur", "Mohamed", "Youssef", "Liam", "Jules",
           "Victor", "Mehmet", "Piotr", "Andrei", "Marco", "Tom", "Wout", "Ibrahima", "Jonas"]
BIRTH_PLACES = ["Bruxelles", "Anvers", "Liège", "Gand", "Namur", "Casablanca", "Istanbul",
                "Varsovie", "Bucarest", "Rome", "Lisbonne", "Kinshasa", "Paris", "Cologne"]
FOREIGN = [("FR", "Paris"), ("NL", "Rotterdam"), ("DE", "Köln"), ("PL", "Kraków"),
           ("RO", "Cluj-Napoca"), ("IT", "Milano"), ("ES", "Madrid"), ("PT", "Porto"),
           ("US", "Boston"), ("IN", "Pune"), ("JP", "Osaka"), ("BR", "Recife")]

STAFF = [
    # username, first name, last name, role label, groups, superuser
    ("admin", "Ada", "Admin", "Administrator (superuser)", [], True),
    ("access.manager", "Marc", "Vandamme", "Municipal access manager",
     [c.GROUP_ACCESS_MANAGER], False),
    ("lra.officer", "Sarah", "Lemmens", "Local Registration Officer",
     [c.GROUP_LRA_OFFICER], False),
    ("agent.demography", "Karim", "Haddad", "Case agent (demography)",
     [c.GROUP_CASE_AGENT], False),
    ("supervisor.demography", "Nathalie", "Dewit", "Case supervisor (demography)",
     [c.GROUP_CASE_SUPERVISOR], False),
    ("agent.civilstatus", "Pieter", "Claessens", "Case agent (civil status)",
     [c.GROUP_CASE_AGENT], False),
    ("counter.agent", "Inès", "Moreau", "Counter agent",
     [c.GROUP_COUNTER_AGENT], False),
    ("content.editor", "Tom", "Verhaegen", "Content editor", [c.GROUP_CONTENT_EDITOR], False),
]


def generate_register(rng: random.Random) -> list[dict]:
    """Deterministic synthetic people grouped in households."""
    people: list[dict] = []
    used: set[str] = set()

    def number_for(birth: datetime.date, gender: str, offset: int) -> str:
        serials = list(serials_for(gender))
        while True:
            number = make_number(birth_date=birth, serial=rng.choice(serials[:200]),
                                 month_offset=offset)
            if number not in used:
                used.add(number)
                return number

    def person(last: str, gender: str, birth: datetime.date, *, bis: bool = False,
               nationality: str = "BE", place: str = "") -> dict:
        first = rng.choice(FIRST_F if gender == "F" else FIRST_M)
        if rng.random() < 0.3:
            first += " " + rng.choice(FIRST_F if gender == "F" else FIRST_M)
        return {"number": number_for(birth, gender, 40 if bis else 0),
                "kind": c.NumberKind.BIS if bis else c.NumberKind.NATIONAL,
                "first_names": first, "last_name": last, "birth_date": birth,
                "birth_place": place or rng.choice(BIRTH_PLACES), "gender": gender,
                "nationality": nationality}

    def birth(min_age: int, max_age: int) -> datetime.date:
        base = datetime.date(2026, 1, 1)
        return base - datetime.timedelta(days=rng.randint(min_age * 365, max_age * 365))

    household_no = 0
    while len(people) < 300:
        household_no += 1
        street, postcode = STREETS[household_no % len(STREETS)]
        address = {"street": street, "number": str(rng.randint(1, 180)),
                   "box": rng.choice(["", "", "", "2", "3A", "12"]), "postal_code": postcode,
                   "municipality": MUNICIPALITY[postcode]}
        last = rng.choice(LAST_NAMES)
        size = rng.choice([1, 1, 2, 2, 3, 4, 5])
        head_gender = rng.choice("FM")
        members = [person(last, head_gender, birth(25, 85))]
        civil = c.CivilState.SINGLE
        if size >= 2:
            civil = rng.choice([c.CivilState.MARRIED, c.CivilState.LEGAL_COHABITANT])
            partner_last = last if rng.random() < 0.4 else rng.choice(LAST_NAMES)
            members.append(person(partner_last, "M" if head_gender == "F" else "F",
                                  birth(25, 80)))
        for _ in range(max(0, size - 2)):
            members.append(person(last, rng.choice("FM"), birth(0, 22)))
        for index, m in enumerate(members):
            m.update(household=household_no, address=address, head=index == 0,
                     civil_state=civil if index < 2 else c.CivilState.SINGLE)
        if size == 1 and rng.random() < 0.15:
            members[0]["civil_state"] = rng.choice([c.CivilState.DIVORCED, c.CivilState.WIDOWED])
        people.extend(members)
    # BIS: cross-border workers and non-residents, some without a Belgian address.
    for index in range(40):
        country, place = FOREIGN[index % len(FOREIGN)]
        entry = person(rng.choice(LAST_NAMES), rng.choice("FM"), birth(20, 65), bis=True,
                       nationality=country, place=place)
        entry.update(household=None, address=None, head=False, civil_state=c.CivilState.SINGLE)
        if index % 3 == 0:  # some live in Brussels while waiting for registration
            street, postcode = STREETS[index % len(STREETS)]
            entry["address"] = {"street": street, "number": str(rng.randint(1, 90)), "box": "",
                                "postal_code": postcode, "municipality": MUNICIPALITY[postcode]}
        people.append(entry)
    return people


class Command(BaseCommand):
    help = "Seed the demo register and the demo accounts (staff with second factor, citizens)."

    def handle(self, *args, **options):
        with transaction.atomic():
            people = generate_register(random.Random(SEED))
            created = self.seed_register(people)
            self.stdout.write(f"identity: register has {Person.objects.count()} people "
                              f"({created} added)")
            for group_name in c.STAFF_GROUPS:
                Group.objects.get_or_create(name=group_name)
            self.seed_staff()
            self.seed_citizens(people)

    def seed_register(self, people: list[dict]) -> int:
        if Person.objects.filter(number=people[0]["number"]).exists():
            return 0
        addresses: dict[tuple, Address] = {}
        households: dict[int, Household] = {}
        for p in people:
            address = None
            if p["address"]:
                key = tuple(sorted(p["address"].items()))
                if key not in addresses:
                    addresses[key] = Address.objects.create(**p["address"])
                address = addresses[key]
            household = None
            if p["household"] is not None and address is not None:  # households live somewhere
                if p["household"] not in households:
                    households[p["household"]] = Household.objects.create(address=address)
                household = households[p["household"]]
            Person.objects.create(
                number=p["number"], number_kind=p["kind"], first_names=p["first_names"],
                last_name=p["last_name"], birth_date=p["birth_date"],
                birth_place=p["birth_place"], gender=p["gender"], nationality=p["nationality"],
                address=address, household=household, is_household_head=p["head"],
                civil_state=p["civil_state"])
        return len(people)

    def second_factor(self, user: User) -> str:
        device = TOTPDevice.objects.filter(user=user, name="demo").first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="demo", confirmed=True)
        secret = base64.b32encode(binascii.unhexlify(device.key)).decode()
        # Only digests of backup codes are kept, so the demo makes five new ones each run
        # to print them.
        static, _created = StaticDevice.objects.get_or_create(
            user=user, name="demo backup codes", defaults={"confirmed": True})
        static.token_set.all().delete()
        tokens = [StaticToken.random_token() for _i in range(5)]
        for token in tokens:
            static.token_set.create(token=backup_code_digests(token)[0])
        return (f"second factor: TOTP secret {secret} (e.g. `oathtool --totp -b {secret}`), "
                f"or a backup code: {', '.join(tokens)}")

    def seed_staff(self) -> None:
        for username, first, last, role, groups, superuser in STAFF:
            user = User.objects.filter(username=username).first() or User(username=username)
            user.first_name, user.last_name = first, last
            user.email = f"{username}@guichet.localhost"
            user.is_staff = True
            user.is_superuser = superuser
            user.preferred_language = "fr"
            password = demo_password(username)
            user.set_password(password)
            user.save()
            user.groups.set(Group.objects.filter(name__in=groups))
            record_login(role=role, username=username, password=password, url="/admin/",
                         note=self.second_factor(user))

    def seed_citizens(self, people: list[dict]) -> None:
        from identity.services import citizen_account_for_person

        adults = [p for p in people if p["kind"] == c.NumberKind.NATIONAL and p["head"]]
        specs = [(adults[0], "citizen.one@guichet.localhost", "fr"),
                 (adults[1], "citizen.two@guichet.localhost", "nl")]
        for spec, email, language in specs:
            person = Person.objects.get(number=spec["number"])
            user = citizen_account_for_person(person=person, email=email, language=language)
            if not DigitalKey.objects.filter(user=user, kind=c.KeyKind.EMAIL_OTP,
                                             revoked_at__isnull=True).exists():
                DigitalKey.objects.create(user=user, kind=c.KeyKind.EMAIL_OTP,
                                          name=f"Code by e-mail to {email}")
            note = ("citizen: log in with the e-mail address; the security code is printed "
                    "on the server console (console e-mail backend)")
            if language == "nl":
                key = DigitalKey.objects.filter(user=user, kind=c.KeyKind.TOTP,
                                                revoked_at__isnull=True).first()
                if key is None:
                    import pyotp

                    key = DigitalKey.objects.create(user=user, kind=c.KeyKind.TOTP,
                                                    name="Authenticator app",
                                                    totp_secret=pyotp.random_base32())
                note += f"; or the authenticator app with TOTP secret {key.totp_secret}"
            record_login(role=f"Citizen {person.full_name} ({person.number})", username=email,
                         password=NO_PASSWORD, url="/fr/account/login/",
                         note=note)
