"""Organisationsnummer (Luhn and the digits 3–4 rule), VAT numbers and ISO 3166 country codes."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from suppliers.identifiers import (
    IdentifierError,
    country_codes,
    is_valid_organisation_number,
    luhn_check_digit,
    normalise_country,
    normalise_organisation_number,
    normalise_vat_number,
)

# The first nine digits of an organisationsnummer: digits 3–4 (the "month" of a personnummer) are 20 or more.
first_nine = st.tuples(
    st.integers(0, 99), st.integers(20, 99), st.integers(0, 99999)
).map(lambda parts: f"{parts[0]:02d}{parts[1]:02d}{parts[2]:05d}")


def _with_check_digit(nine: str) -> str:
    return f"{nine[:6]}-{nine[6:]}{luhn_check_digit(nine)}"


@given(first_nine)
def test_every_number_with_its_luhn_check_digit_is_valid_with_or_without_the_dash(nine):
    number = _with_check_digit(nine)
    assert normalise_organisation_number(number) == number
    assert normalise_organisation_number(number.replace("-", "")) == number


@given(first_nine, st.integers(0, 9), st.integers(1, 9))
def test_changing_any_single_digit_makes_a_valid_number_invalid(nine, position, shift):
    digits = list(_with_check_digit(nine).replace("-", ""))
    digits[position] = str((int(digits[position]) + shift) % 10)
    assert not is_valid_organisation_number("".join(digits))


def test_known_organisationsnummer_are_valid():
    assert normalise_organisation_number("212000-0142") == "212000-0142"  # Stockholms stad
    assert normalise_organisation_number(" 2021005489 ") == "202100-5489"  # Socialstyrelsen


def test_a_wrong_check_digit_is_refused_with_a_message_that_says_so():
    with pytest.raises(IdentifierError, match="check digit"):
        normalise_organisation_number("212000-0143")


def test_a_personnummer_is_not_an_organisationsnummer():
    with pytest.raises(IdentifierError, match="20 or more"):
        normalise_organisation_number("800101-0019")  # Luhn-valid, but digits 3–4 are 01


@pytest.mark.parametrize("text", ["", "21200-00142", "212000 0142", "212000-014", "SE2120000142", "abcdef-ghij"])
def test_anything_but_ten_digits_with_an_optional_dash_is_refused(text):
    with pytest.raises(IdentifierError, match="NNNNNN-NNNN"):
        normalise_organisation_number(text)


def test_a_swedish_vat_number_is_normalised_and_must_match_the_organisationsnummer():
    assert normalise_vat_number("se 212000-0142 01", "SE", "212000-0142") == "SE212000014201"
    with pytest.raises(IdentifierError, match="SE202100548901"):
        normalise_vat_number("SE212000014201", "SE", "202100-5489")
    with pytest.raises(IdentifierError, match="ten digits"):
        normalise_vat_number("SE2120000142", "SE", "212000-0142")


def test_an_eu_vat_number_starts_with_its_countrys_prefix_and_follows_its_format():
    assert normalise_vat_number("DE 123 456 789", "DE") == "DE123456789"
    assert normalise_vat_number("EL123456789", "GR") == "EL123456789"  # Greece uses EL
    with pytest.raises(IdentifierError, match="starts with DE"):
        normalise_vat_number("FR12345678901", "DE")
    with pytest.raises(IdentifierError, match="format"):
        normalise_vat_number("DE12345", "DE")


def test_outside_the_eu_a_vat_number_is_free_text():
    assert normalise_vat_number(" 91310000  MA1FL1234X ", "CN") == "91310000 MA1FL1234X"
    with pytest.raises(IdentifierError):
        normalise_vat_number("X" * 21, "US")


def test_country_codes_are_exactly_the_249_iso_3166_codes():
    codes = country_codes()
    assert len(codes) == 249
    assert {"SE", "DE", "CN", "GR", "AX"} <= codes
    assert not {"EU", "UN", "XK", "ZZ", "QO"} & codes
    assert normalise_country(" se ") == "SE"
    with pytest.raises(IdentifierError):
        normalise_country("EU")


def test_country_choices_put_sweden_first_and_follow_swedish_alphabetical_order(app):
    from flask_babel import force_locale

    from suppliers.identifiers import country_choices, country_name

    with app.test_request_context(), force_locale("sv"):
        choices = country_choices()
        assert choices[0] == ("SE", "Sverige")
        assert [code for code, _ in choices[-3:]] == ["AX", "AT", "TL"]  # Åland, Österrike, Östtimor
        assert country_name("DE") == "Tyskland"
