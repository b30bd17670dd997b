"""Belgian national register and BIS numbers: validation with python-stdnum, and the
construction rules (YYMMDD, a 3-digit day counter odd for men and even for women, and a
97-modulus check on the first nine digits, prefixed with 2 for births from 2000)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from stdnum import exceptions as stdnum_errors
from stdnum.be import bis, nn

from identity.constants import NumberKind


def compact(number: str) -> str:
    return nn.compact(number or "")


def number_kind(number: str) -> NumberKind | None:
    """The register a valid number belongs to, or None when the number is not valid."""
    try:
        nn.validate(number)
        return NumberKind.NATIONAL
    except stdnum_errors.ValidationError:
        pass
    try:
        bis.validate(number)
        return NumberKind.BIS
    except stdnum_errors.ValidationError:
        return None


def check_digits(*, first_nine: str, birth_year: int) -> str:
    base = int(("2" if birth_year >= 2000 else "") + first_nine)
    return f"{97 - base % 97:02d}"


def make_number(*, birth_date: datetime.date, serial: int, month_offset: int = 0) -> str:
    """Build a number; month_offset is 0 for the national register, 40 (gender known) or 20
    (gender unknown) for BIS, as python-stdnum reads them."""
    first_nine = (f"{birth_date:%y}{birth_date.month + month_offset:02d}"
                  f"{birth_date.day:02d}{serial:03d}")
    return first_nine + check_digits(first_nine=first_nine, birth_year=birth_date.year)


def serials_for(gender: str | None) -> range:
    if gender == "M":
        return range(1, 998, 2)
    if gender == "F":
        return range(2, 999, 2)
    return range(1, 999)


def next_bis_number(*, birth_date: datetime.date, gender: str | None,
                    taken: Iterable[str]) -> str:
    taken = set(taken)
    offset = 40 if gender else 20
    for serial in serials_for(gender):
        number = make_number(birth_date=birth_date, serial=serial, month_offset=offset)
        if number not in taken:
            return number
    raise RuntimeError("no BIS serial left for this birth date")
