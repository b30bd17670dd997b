"""The register kept in this database: identity.Person rows."""

from __future__ import annotations

import datetime
import unicodedata

from django.db.models.functions import Lower

from identity.constants import Gender, NumberKind
from identity.models import Person
from identity.numbers import next_bis_number
from identity.registers.base import BisRegistration, RegisterAdapter, registry


def fold(text: str) -> str:
    """Case- and accent-insensitive form of a name (Müller = muller, Dupré = dupre)."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@registry.register("local")
class LocalRegister(RegisterAdapter):
    verbose_name = "Local register (database)"

    def lookup(self, number: str) -> Person | None:
        return (Person.objects.select_related("address", "household")
                .filter(number=number).first())

    def search(self, *, last_name: str, birth_date: datetime.date,
               limit: int = 50) -> list[Person]:
        # Birth date narrows to a handful of rows; names are then compared without case and
        # accents in Python, which behaves the same on PostgreSQL and SQLite.
        wanted = fold(last_name)
        candidates = (Person.objects.select_related("address")
                      .filter(birth_date=birth_date).order_by(Lower("last_name"), "first_names"))
        return [p for p in candidates if fold(p.last_name) == wanted][:limit]

    def create_bis(self, registration: BisRegistration) -> Person:
        taken = set(Person.objects.filter(number_kind=NumberKind.BIS,
                                          birth_date=registration.birth_date)
                    .values_list("number", flat=True))
        gender = registration.gender if registration.gender in (Gender.FEMALE, Gender.MALE) else None
        number = next_bis_number(birth_date=registration.birth_date, gender=gender, taken=taken)
        return Person.objects.create(
            number=number, number_kind=NumberKind.BIS,
            first_names=registration.first_names, last_name=registration.last_name,
            birth_date=registration.birth_date, birth_place=registration.birth_place,
            gender=registration.gender, nationality=registration.nationality,
        )
