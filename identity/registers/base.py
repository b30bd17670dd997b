from __future__ import annotations

import abc
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


class RegisterAdapter(BasePlugin, abc.ABC):
    """Lookup by number, search by name and birth date, creation in BIS.

    Abstract on purpose: the registry instantiates an adapter when it registers, so one that
    lacks a method fails at import instead of pretending to work until the first search.
    """

    @abc.abstractmethod
    def lookup(self, number: str) -> Person | None:
        """The entry with this number (11 digits, no separators), or None."""

    @abc.abstractmethod
    def search(self, *, last_name: str, birth_date: datetime.date,
               limit: int = 50) -> list[Person]:
        """Entries with this last name (case and accents ignored) born on this date."""

    @abc.abstractmethod
    def create_bis(self, registration: BisRegistration) -> Person:
        """Register a person in BIS and return the entry with its new BIS number."""


registry: Registry[RegisterAdapter] = Registry("registers")
