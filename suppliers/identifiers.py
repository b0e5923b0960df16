"""Identifiers of suppliers: Swedish organisationsnummer, VAT numbers and ISO 3166-1 country codes.

Each ``normalise_*`` function returns the canonical form of a valid identifier or raises IdentifierError
with a message a user can act on; the services turn that into a DomainError beside the right field.
"""
from __future__ import annotations

import re

from babel import Locale
from flask_babel import get_locale
from flask_babel import gettext as _

SWEDEN = "SE"

# The EU member states and the prefix of their VAT numbers (Greece uses EL, not its ISO code GR).
EU_VAT_PREFIXES = {
    "AT": "AT", "BE": "BE", "BG": "BG", "CY": "CY", "CZ": "CZ", "DE": "DE", "DK": "DK", "EE": "EE",
    "ES": "ES", "FI": "FI", "FR": "FR", "GR": "EL", "HR": "HR", "HU": "HU", "IE": "IE", "IT": "IT",
    "LT": "LT", "LU": "LU", "LV": "LV", "MT": "MT", "NL": "NL", "PL": "PL", "PT": "PT", "RO": "RO",
    "SE": "SE", "SI": "SI", "SK": "SK",
}  # fmt: skip

# What follows the prefix, per member state (the VIES formats).
_EU_VAT_BODIES = {
    "AT": r"U\d{8}",
    "BE": r"[01]\d{9}",
    "BG": r"\d{9,10}",
    "CY": r"\d{8}[A-Z]",
    "CZ": r"\d{8,10}",
    "DE": r"\d{9}",
    "DK": r"\d{8}",
    "EE": r"\d{9}",
    "EL": r"\d{9}",
    "ES": r"[0-9A-Z]\d{7}[0-9A-Z]",
    "FI": r"\d{8}",
    "FR": r"[0-9A-HJ-NP-Z]{2}\d{9}",
    "HR": r"\d{11}",
    "HU": r"\d{8}",
    "IE": r"\d[0-9A-Z+*]\d{5}[A-W][A-I]?",
    "IT": r"\d{11}",
    "LT": r"\d{9}|\d{12}",
    "LU": r"\d{8}",
    "LV": r"\d{11}",
    "MT": r"\d{8}",
    "NL": r"\d{9}B\d{2}",
    "PL": r"\d{10}",
    "PT": r"\d{9}",
    "RO": r"\d{2,10}",
    "SE": r"\d{10}01",
    "SI": r"\d{8}",
    "SK": r"\d{10}",
}

# Codes in CLDR's territory list that are not officially assigned ISO 3166-1 alpha-2 codes.
_NOT_ISO_3166 = frozenset({"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "XK", "ZZ"})

_ORGANISATION_NUMBER = re.compile(r"(\d{6})-?(\d{4})")
_SEPARATORS = re.compile(r"[\s.\-]")


class IdentifierError(ValueError):
    """An identifier that is not well formed; ``message`` is translated and says what is wrong."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def luhn_check_digit(digits: str) -> int:
    """The Luhn (mod 10) check digit for ``digits``: the one Skatteverket puts last in every organisationsnummer."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return (10 - total % 10) % 10


def normalise_organisation_number(raw: str) -> str:
    """``NNNNNN-NNNN`` from ``NNNNNN-NNNN`` or ten digits; raises IdentifierError when it is not valid.

    Valid means: ten digits, the third and fourth together at least 20 (which tells an organisation from a
    person), and the last digit the Luhn check digit of the first nine.
    """
    text = (raw or "").strip()
    match = _ORGANISATION_NUMBER.fullmatch(text)
    if match is None:
        raise IdentifierError(_("Write the organisationsnummer as NNNNNN-NNNN (ten digits)."))
    digits = match.group(1) + match.group(2)
    if int(digits[2:4]) < 20:
        raise IdentifierError(
            _("Digits 3–4 of an organisationsnummer are 20 or more; %(number)s looks like a personnummer.",
              number=_format_organisation_number(digits))
        )
    if luhn_check_digit(digits[:9]) != int(digits[9]):
        raise IdentifierError(
            _("%(number)s is not a valid organisationsnummer: the check digit does not match.",
              number=_format_organisation_number(digits))
        )
    return _format_organisation_number(digits)


def _format_organisation_number(digits: str) -> str:
    return f"{digits[:6]}-{digits[6:]}"


def is_valid_organisation_number(raw: str) -> bool:
    try:
        normalise_organisation_number(raw)
    except IdentifierError:
        return False
    return True


def swedish_vat_number(organisation_number: str) -> str:
    """The VAT number (momsregistreringsnummer) that belongs to an organisationsnummer: SE + ten digits + 01."""
    return f"SE{organisation_number.replace('-', '')}01"


def normalise_vat_number(raw: str, country: str, organisation_number: str | None = None) -> str:
    """The VAT number without spaces, dots or dashes, in capitals; raises IdentifierError when it is not valid.

    A Swedish supplier's must be SE + its organisationsnummer's ten digits + 01. An EU supplier's starts with
    its country's VAT prefix and follows that country's format. Outside the EU it is free text.
    """
    compact = _SEPARATORS.sub("", (raw or "").strip()).upper()
    if country == SWEDEN:
        if not re.fullmatch(r"SE\d{10}01", compact):
            raise IdentifierError(_("A Swedish VAT number is SE, the ten digits of the organisationsnummer, and 01."))
        if organisation_number and compact != swedish_vat_number(organisation_number):
            raise IdentifierError(
                _("The VAT number does not match the organisationsnummer; it should be %(vat)s.",
                  vat=swedish_vat_number(organisation_number))
            )
        return compact
    prefix = EU_VAT_PREFIXES.get(country)
    if prefix is None:
        text = " ".join((raw or "").split())
        if len(text) > 20:
            raise IdentifierError(_("A VAT number has at most 20 characters."))
        return text
    if not compact.startswith(prefix):
        raise IdentifierError(
            _("A VAT number from %(country)s starts with %(prefix)s.", country=country_name(country), prefix=prefix)
        )
    if not re.fullmatch(_EU_VAT_BODIES[prefix], compact[len(prefix):]):
        raise IdentifierError(
            _("%(vat)s is not in the format of a VAT number from %(country)s.",
              vat=compact, country=country_name(country))
        )
    return compact


def country_codes() -> frozenset[str]:
    """The ISO 3166-1 alpha-2 codes (from CLDR's territory list)."""
    return _COUNTRY_CODES


_COUNTRY_CODES = frozenset(
    code for code in Locale("en").territories if len(code) == 2 and code.isalpha() and code not in _NOT_ISO_3166
)


def normalise_country(raw: str) -> str:
    """The two-letter code in capitals; raises IdentifierError unless it is an ISO 3166-1 country."""
    code = (raw or "").strip().upper()
    if code not in _COUNTRY_CODES:
        raise IdentifierError(_("Choose a country (ISO 3166-1 code such as SE, DE or CN)."))
    return code


def _locale() -> Locale:
    try:
        return Locale.parse(str(get_locale() or "sv"))
    except (ValueError, RuntimeError):
        return Locale("sv")


def country_name(code: str) -> str:
    """The country's name in the user's language (Sverige, Tyskland …); the code when it is unknown."""
    return _locale().territories.get(code, code)


def country_choices() -> list[tuple[str, str]]:
    """(code, name) for every country, Sweden first, the rest by name in the user's language."""
    names = _locale().territories
    others = sorted(
        (code for code in _COUNTRY_CODES if code != SWEDEN), key=lambda code: _collation_key(names.get(code, code))
    )
    return [(code, names.get(code, code)) for code in [SWEDEN, *others]]


# Swedish alphabetical order puts Å, Ä and Ö after Z (Åland, Österrike); code points would put Ä before Å.
_SWEDISH_LAST = str.maketrans({"å": "{a", "ä": "{b", "ö": "{c"})  # "{" sorts right after "z"


def _collation_key(name: str) -> str:
    return name.casefold().translate(_SWEDISH_LAST)
