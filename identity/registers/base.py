from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.registry import BasePlugin, Registry

if TYPE_CHECKING:
    from identity.models import Person


@dataclass(frozen=True)
class BisRegistration:
    first_names: str
    last_name: str
    birth_date: datetime.date
    birth_place: str
    gender: str  # identity.constants.Gender, "X" when unknown
    nationality: str


class RegisterAdapter(BasePlugin):
    """Lookup by number, search by name and birth date, creation in BIS."""

    def lookup(self, number: str) -> Person | None:
        raise NotImplementedError

    def search(self, *, last_name: str, birth_date: datetime.date,
               limit: int = 50) -> list[Person]:
        raise NotImplementedError

    def create_bis(self, registration: BisRegistration) -> Person:
        raise NotImplementedError


registry: Registry[RegisterAdapter] = Registry("registers")
