"""The harmonised standards (and their classes) a certificate may name, per product category.

Pure data and functions: no Flask, no database. A certificate names one standard and, where the standard
has classes or types, one class of it; which standards fit depends on the catalogue category of the product
(category codes as in app/catalog/data/catalog.json). A category this module does not know (one an
administrator added later) may name any standard listed here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

# Separates standard and class in a form's one choice, e.g. "EN 149:2001+A1:2009|FFP2 NR".
CHOICE_SEPARATOR = "|"


@dataclass(frozen=True)
class Standard:
    """A standard a product is tested against.

    ``classes`` are the classes or types a certificate states (empty when the standard has none);
    ``category_iii`` marks standards for PPE of category III under Regulation (EU) 2016/425 (protection
    against harmful biological agents and respiratory protection), where the EU type-examination
    certificate must come from a notified body whose four-digit number the certificate states.
    """

    code: str
    title: str
    categories: tuple[str, ...]
    classes: tuple[str, ...] = ()
    category_iii: bool = False

    @property
    def has_classes(self) -> bool:
        return bool(self.classes)


def _ffp_classes() -> tuple[str, ...]:
    # FFP1–3, NR (single shift) or R (reusable), optionally D (passed the dolomite clogging test).
    return tuple(
        f"{ffp} {use}{dolomite}"
        for ffp in ("FFP1", "FFP2", "FFP3")
        for use in ("NR", "R")
        for dolomite in ("", " D")
    )


STANDARDS: tuple[Standard, ...] = (
    Standard(
        "EN 149:2001+A1:2009",
        "Respiratory protective devices – filtering half masks to protect against particles",
        ("respirators",),
        _ffp_classes(),
        category_iii=True,
    ),
    Standard(
        "EN 14683:2019+AC:2019",
        "Medical face masks – requirements and test methods",
        ("surgical_masks",),
        ("Type I", "Type II", "Type IIR"),
    ),
    Standard(
        "EN 166:2001",
        "Personal eye protection – specifications",
        ("eye_protection",),
        # The field-of-use marking: 3 liquid droplets and splashes, 4 large dust particles, 5 gas and fine
        # dust, N anti-fog; a face shield against splashes is marked 3, goggles often 3 4 N.
        ("3", "3 N", "3 4", "3 4 N", "3 4 5", "4", "5"),
    ),
    Standard(
        "EN 455-1:2020",
        "Medical gloves for single use – freedom from holes",
        ("gloves",),
    ),
    Standard(
        "EN 455-2:2015",
        "Medical gloves for single use – physical properties",
        ("gloves",),
    ),
    Standard(
        "EN 455-3:2015",
        "Medical gloves for single use – biological evaluation",
        ("gloves",),
    ),
    Standard(
        "EN 455-4:2009",
        "Medical gloves for single use – shelf life",
        ("gloves",),
    ),
    Standard(
        "EN ISO 374-1:2016+A1:2018",
        "Protective gloves against dangerous chemicals and micro-organisms – chemical risks",
        ("gloves",),
        ("Type A", "Type B", "Type C"),
        category_iii=True,
    ),
    Standard(
        "EN ISO 374-5:2016",
        "Protective gloves against dangerous chemicals and micro-organisms – micro-organisms",
        ("gloves",),
        ("Bacteria and fungi", "Bacteria, fungi and viruses (VIRUS)"),
        category_iii=True,
    ),
    Standard(
        "EN 14126:2003",
        "Protective clothing – performance requirements and tests against infective agents",
        ("gowns_aprons",),
        ("Type 3-B", "Type 4-B", "Type 5-B", "Type 6-B", "Type PB [3]-B", "Type PB [4]-B", "Type PB [6]-B"),
        category_iii=True,
    ),
    Standard(
        "EN 13795-1:2019",
        "Surgical clothing and drapes – surgical drapes and gowns",
        ("gowns_aprons",),
        ("Standard performance", "High performance"),
    ),
    Standard(
        "EN 13795-2:2019",
        "Surgical clothing and drapes – clean air suits",
        ("gowns_aprons",),
        ("Standard performance", "High performance"),
    ),
    Standard(
        "EN ISO 13688:2013",
        "Protective clothing – general requirements",
        ("gowns_aprons",),
    ),
    Standard(
        "EN 1500:2013",
        "Chemical disinfectants and antiseptics – hygienic handrub",
        ("hand_disinfectant",),
    ),
    Standard(
        "EN 14476:2013+A2:2019",
        "Chemical disinfectants and antiseptics – virucidal activity",
        ("hand_disinfectant",),
        (
            "Full virucidal activity",
            "Limited spectrum virucidal activity",
            "Activity against enveloped viruses",
        ),
    ),
    Standard(
        "EN 13727:2012+A2:2015",
        "Chemical disinfectants and antiseptics – bactericidal activity",
        ("hand_disinfectant",),
    ),
    Standard(
        "IVDR (EU) 2017/746",
        "In vitro diagnostic medical devices regulation",
        ("sampling",),
    ),
    Standard(
        "EN ISO 13485:2016",
        "Medical devices – quality management systems",
        ("surgical_masks", "gloves", "gowns_aprons", "sampling"),
    ),
)

_BY_CODE = {standard.code: standard for standard in STANDARDS}
KNOWN_CATEGORIES = frozenset(code for standard in STANDARDS for code in standard.categories)


def standard_by_code(code: str | None) -> Standard | None:
    return _BY_CODE.get(code or "")


def standards_for(category_code: str | None) -> tuple[Standard, ...]:
    """The standards that fit a product category; every standard for a category this module does not know."""
    if category_code not in KNOWN_CATEGORIES:
        return STANDARDS
    return tuple(standard for standard in STANDARDS if category_code in standard.categories)


def fits(category_code: str | None, standard_code: str, standard_class: str | None) -> bool:
    """Whether the standard fits the category and the class is one of the standard's (none if it has none)."""
    standard = standard_by_code(standard_code)
    if standard is None or standard not in standards_for(category_code):
        return False
    if standard.has_classes:
        return standard_class in standard.classes
    return not standard_class


def choice_value(standard_code: str, standard_class: str | None) -> str:
    return f"{standard_code}{CHOICE_SEPARATOR}{standard_class or ''}"


def parse_choice(value: str | None) -> tuple[str, str | None]:
    """(standard, class) from a choice value; class None when the standard has none."""
    code, _, klass = (value or "").partition(CHOICE_SEPARATOR)
    return code.strip(), (klass.strip() or None)


def choices_for(category_code: str | None) -> list[tuple[str, str]]:
    """Every (standard, class) pair that fits a category, as (value, label) for one select field."""
    return list(_choices(standards_for(category_code)))


def _choices(standards: Iterable[Standard]):
    for standard in standards:
        if standard.has_classes:
            for klass in standard.classes:
                yield choice_value(standard.code, klass), f"{standard.code} – {klass}"
        else:
            yield choice_value(standard.code, None), standard.code


def needs_notified_body(standard_code: str) -> bool:
    """Whether an EU type-examination certificate against this standard must state a notified body."""
    standard = standard_by_code(standard_code)
    return standard is not None and standard.category_iii
