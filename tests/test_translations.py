"""The Swedish catalogue: every string in the code translated, placeholders kept, and the pages using it."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from app.config import load_config
from app.extensions import babel

ROOT = Path(__file__).resolve().parent.parent
BABEL_CFG = ROOT / "app" / "babel.cfg"
PO_FILE = ROOT / "app" / "translations" / "sv" / "LC_MESSAGES" / "messages.po"
MO_FILE = PO_FILE.with_suffix(".mo")
# The same keywords as the extraction command in docs/translations.md: Babel's defaults and these.
KEYWORDS = {**DEFAULT_KEYWORDS, **parse_keywords(["_l", "lazy_gettext", "ngettext:1,2"])}
# One %-conversion as Python (and Jinja's gettext, which always formats) reads it, "%%" included.
FORMAT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")


def read_catalogue():
    with PO_FILE.open("rb") as po:
        return read_po(po, locale="sv")


def extract_messages() -> dict[tuple[str | tuple[str, ...], str | None], list[str]]:
    """Every message the code marks for translation, with where it is: {(msgid, context): ["file:line", ...]}."""
    with BABEL_CFG.open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, str(BABEL_CFG))
    found: dict = {}
    for filename, lineno, msgid, _comments, context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS
    ):
        found.setdefault((msgid, context), []).append(f"{filename}:{lineno}")
    return found


def format_specs(text: str) -> Counter:
    """The %-conversions in a text, plus a "stray %" for each percent sign that starts none."""
    specs = Counter(FORMAT_SPEC.findall(text))
    specs["stray %"] += FORMAT_SPEC.sub("", text).count("%")
    return +specs


def compile_catalogue() -> None:
    """Write the .mo Flask-Babel reads, as `pybabel compile` does (fuzzy entries left out)."""
    partial = MO_FILE.with_name(MO_FILE.name + ".partial")
    with partial.open("wb") as mo:
        write_mo(mo, read_catalogue())
    partial.replace(MO_FILE)


@pytest.fixture(scope="module")
def extracted():
    return extract_messages()


@pytest.fixture
def swedish_catalogue(app, monkeypatch, tmp_path):
    """The compiled catalogue, rebuilt from the .po when `make` has not compiled it or it is out of date, and
    the application's own default language (the test configuration reads pages in English)."""
    if not MO_FILE.exists() or MO_FILE.stat().st_mtime < PO_FILE.stat().st_mtime:
        compile_catalogue()
        # Flask-Babel keeps loaded catalogues for the life of the process; an earlier page may have loaded none.
        babel.domain_instance.cache.clear()
    monkeypatch.setitem(app.config, "BABEL_DEFAULT_LOCALE", load_config(tmp_path)["BABEL_DEFAULT_LOCALE"])


def _untranslated(catalogue, msgid, context) -> str | None:
    """Why the catalogue has no usable Swedish text for ``msgid``, or None when it has."""
    plural = isinstance(msgid, tuple)
    entry = catalogue.get(msgid[0] if plural else msgid, context)
    if entry is None:
        return "missing"
    if entry.fuzzy:
        return "fuzzy"
    if plural != entry.pluralizable:
        return "plural in the code but not in the catalogue" if plural else "plural in the catalogue only"
    if plural and entry.id[1] != msgid[1]:
        return f"catalogue has plural {entry.id[1]!r}"
    forms = entry.string if plural else (entry.string,)
    if plural and len(forms) != catalogue.num_plurals:
        return f"{len(forms)} plural forms, Swedish has {catalogue.num_plurals}"
    if not all(forms):
        return "empty"
    return None


def test_the_catalogue_is_swedish_and_not_marked_fuzzy():
    catalogue = read_catalogue()

    # pybabel compile skips a catalogue whose header is fuzzy, which would leave every page in English.
    assert not catalogue.fuzzy
    assert str(catalogue.locale) == "sv"
    assert catalogue.num_plurals == 2
    assert catalogue.plural_expr == "(n != 1)"


def test_samordna_speaks_swedish_unless_the_user_chooses_otherwise(tmp_path):
    assert load_config(tmp_path)["BABEL_DEFAULT_LOCALE"] == "sv"
    assert set(load_config(tmp_path)["LANGUAGES"]) == {"sv", "en"}


def test_every_message_in_the_code_has_a_swedish_translation(extracted):
    catalogue = read_catalogue()

    problems = []
    for (msgid, context), locations in sorted(extracted.items(), key=lambda item: item[1][0]):
        reason = _untranslated(catalogue, msgid, context)
        if reason:
            problems.append(f"{msgid!r} ({reason}; {', '.join(locations)})")

    # The extraction reads templates and Python alike (an empty result would pass vacuously).
    assert ("Log out", None) in extracted and ("Choose at least one role.", None) in extracted
    assert not problems, (
        f"{len(problems)} message(s) without a Swedish translation in {PO_FILE.relative_to(ROOT)} "
        "(see docs/translations.md):\n  " + "\n  ".join(problems)
    )


def test_translations_keep_the_placeholders_of_the_english_text():
    catalogue = read_catalogue()

    wrong = []
    for entry in catalogue:
        if not entry.id or not entry.string:
            continue
        ids = entry.id if entry.pluralizable else (entry.id,)
        strings = entry.string if entry.pluralizable else (entry.string,)
        for index, text in enumerate(strings):
            # Swedish and English share the rule "one" / "other": form i answers English form i.
            english = ids[min(index, len(ids) - 1)]
            if text and format_specs(text) != format_specs(english):
                wrong.append(f"{english!r} -> {text!r}")

    assert not wrong, "Placeholders differ between English and Swedish:\n  " + "\n  ".join(wrong)


def test_percent_signs_in_the_english_text_survive_formatting(extracted):
    """Jinja's gettext and every ngettext always %-format, so a literal percent sign there is written %%;
    Python's gettext formats only when given values, so there a lone % is right and %% would show twice."""
    wrong = []
    for (msgid, _context), locations in extracted.items():
        plural = isinstance(msgid, tuple)
        in_template = any(location.rsplit(":", 1)[0].endswith(".html") for location in locations)
        for text in msgid if plural else (msgid,):
            specs = format_specs(text)
            named = {spec for spec in specs if spec.startswith("%(")}
            if plural or in_template or named:
                bad = set(specs) - named - {"%%"}
            else:
                bad = set(specs) & {"%%"}
            if bad:
                wrong.append(f"{text!r} ({', '.join(sorted(bad))}; {', '.join(locations)})")

    assert not wrong, "Percent signs that formatting would garble:\n  " + "\n  ".join(wrong)


def test_the_placeholder_check_reads_python_format_as_python_does():
    assert format_specs("%(name)s har %(num)d, 100 %%") == Counter({"%(name)s": 1, "%(num)d": 1, "%%": 1})
    assert format_specs("Sida %(page)s av %(pages)s") == format_specs("Page %(page)s of %(pages)s")
    assert format_specs("100 %") == Counter({"stray %": 1})
    assert format_specs("%(name) s") != format_specs("%(name)s")


def test_pages_are_swedish_until_the_user_chooses_english(swedish_catalogue, client, users, auth):
    auth.login(users.make("reporter", "0180"))

    swedish = client.get("/").get_data(as_text=True)
    assert '<html lang="sv">' in swedish
    assert "Logga ut" in swedish
    assert "Log out" not in swedish

    english = client.post("/language", data={"locale": "en", "next": "/"}, follow_redirects=True)
    page = english.get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Log out" in page
    assert "Logga ut" not in page


def test_swedish_plural_forms_follow_the_count(swedish_catalogue, client, session, users, auth):
    from app.notifications.services import notify

    user = users.make("reporter", "0180")
    notify(session, user, "Leverans mottagen", "")
    session.commit()
    auth.login(user)

    assert "Du har 1 oläst avisering." in client.get("/notifications/").get_data(as_text=True)

    notify(session, user, "Ny lägesbild", "")
    session.commit()
    assert "Du har 2 olästa aviseringar." in client.get("/notifications/").get_data(as_text=True)


def test_english_pages_write_dates_day_first_on_a_24_hour_clock(app, users):
    # Babel's plain "en" would write 3/4/26, 4:05 PM: the 3rd of April to a Swedish reader.
    from datetime import UTC, date, datetime

    from flask import session
    from flask_babel import format_datetime, refresh

    from app.notifications.services import in_language_of
    from app.timeutil import when

    moment = datetime(2026, 3, 4, 15, 5, tzinfo=UTC)  # 16:05 in Stockholm
    with app.test_request_context("/"):
        session["locale"] = "en"
        refresh()  # the test's app context outlives the request; a real request starts afresh
        assert format_datetime(moment, "short") == "04/03/2026, 16:05"
        assert when(date(2026, 3, 4)) == "4 Mar 2026"
    english_user = users.make("reporter", "0180")
    english_user.locale = "en"
    with app.test_request_context("/"), in_language_of(english_user):
        assert format_datetime(moment, "short") == "04/03/2026, 16:05"
    with app.test_request_context("/"):
        session["locale"] = "sv"
        refresh()
        assert format_datetime(moment, "short") == "2026-03-04 16:05"
