import datetime

from hypothesis import given
from hypothesis import strategies as st
from stdnum.be import bis, nn

from identity.constants import NumberKind
from identity.numbers import make_number, next_bis_number, number_kind

dates = st.dates(min_value=datetime.date(1901, 1, 1), max_value=datetime.date(2025, 12, 31))


@given(birth=dates, serial=st.integers(min_value=1, max_value=997))
def test_national_numbers_built_here_pass_stdnum_with_the_birth_date_and_gender(birth, serial):
    number = make_number(birth_date=birth, serial=serial)
    assert nn.is_valid(number)
    assert nn.get_birth_date(number) == birth
    assert nn.get_gender(number) == ("M" if serial % 2 else "F")
    assert number_kind(number) == NumberKind.NATIONAL


@given(birth=dates, serial=st.integers(min_value=1, max_value=997),
       offset=st.sampled_from([20, 40]))
def test_bis_numbers_built_here_pass_stdnum_and_are_not_national_numbers(birth, serial, offset):
    number = make_number(birth_date=birth, serial=serial, month_offset=offset)
    assert bis.is_valid(number)
    assert not nn.is_valid(number)
    assert bis.get_birth_date(number) == birth
    # +40: the gender is known (odd serial for men), +20: it was not
    expected = ("M" if serial % 2 else "F") if offset == 40 else None
    assert bis.get_gender(number) == expected
    assert number_kind(number) == NumberKind.BIS


@given(st.text(max_size=20))
def test_number_kind_never_raises_on_garbage(text):
    assert number_kind(text) in (None, NumberKind.NATIONAL, NumberKind.BIS)


def test_a_wrong_check_digit_is_refused():
    good = make_number(birth_date=datetime.date(1985, 7, 30), serial=33)
    bad = good[:-2] + f"{(int(good[-2:]) + 1) % 100:02d}"
    assert number_kind(good) == NumberKind.NATIONAL
    assert number_kind(bad) is None


def test_next_bis_number_skips_taken_serials_and_marks_unknown_gender():
    birth = datetime.date(1990, 3, 4)
    first = next_bis_number(birth_date=birth, gender="F", taken=())
    second = next_bis_number(birth_date=birth, gender="F", taken={first})
    assert first != second and bis.is_valid(second)
    assert int(first[6:9]) % 2 == 0  # even serial for women
    unknown = next_bis_number(birth_date=birth, gender=None, taken=())
    assert unknown[2:4] == "23"  # month + 20 when the gender is not known
    assert first[2:4] == "43"  # + 40 when it is
