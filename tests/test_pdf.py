"""PDF rendering (app/pdf.py) and the organisation fact sheet that proves it."""
from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader
from weasyprint import HTML

from app import pdf
from app.extensions import db
from app.organisations.factsheet import fact_sheet
from tests.conftest import organisation


@pytest.fixture(autouse=True)
def english(app, monkeypatch):
    # The locale selector falls back to this setting; a Swedish catalogue must not change what tests read.
    monkeypatch.setitem(app.config, "BABEL_DEFAULT_LOCALE", "en")


def pdf_text(data: bytes) -> list[str]:
    assert data.startswith(b"%PDF-")
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def test_the_fact_sheet_is_a_pdf_with_swedish_characters_and_page_numbers(client, users, auth):
    auth.login(users.make("county_coordinator", "LST-14"))
    goteborg = organisation("1480")

    response = client.get(f"/organisations/{goteborg.id}/factsheet.pdf")

    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert 'filename="factsheet-1480.pdf"' in response.headers["Content-Disposition"]
    assert "no-store" in response.headers["Cache-Control"]
    [text] = pdf_text(response.data)
    assert "Fact sheet: Göteborg kommun" in text
    assert "14 Västra Götalands län" in text
    assert "Länsstyrelsen Västra Götaland" in text, "the requesting organisation heads the page"
    assert re.search(r"(Page|Sida) 1 (of|av) 1", text)
    assert re.search(r"Created \d{4}-\d\d-\d\d \d\d:\d\d \(Europe/Stockholm\)", text)
    assert "57.7089° N, 11.9746° E" in text


def test_a_region_fact_sheet_lists_the_countys_municipalities_over_several_pages(client, users, auth):
    auth.login(users.make("reporter", "REG-14"))
    region = organisation("REG-14")

    response = client.get(f"/organisations/{region.id}/factsheet.pdf")

    pages = pdf_text(response.data)
    text = "\n".join(pages)
    assert len(pages) >= 2
    assert all(re.search(rf"(Page|Sida) {n} (of|av) {len(pages)}", page) for n, page in enumerate(pages, 1))
    for line in ("1407 Öckerö Öckerö", "1480 Göteborg Göteborg", "1492 Åmål Åmål", "1441 Lerum Lerum"):
        assert line in text
    assert "49 municipalities" in text


def test_the_fact_sheet_counts_the_organisations_active_users_by_role(client, users, auth):
    admin = users.make(["administrator", "reporter"], "1480")
    users.make("reporter", "1480")
    users.make("recipient", "1480").active = False
    db.session.commit()
    auth.login(admin)

    text = pdf_text(client.get(f"/organisations/{organisation('1480').id}/factsheet.pdf").data)[0]

    assert "Reporter 2" in text and "Administrator 1" in text and "Recipient" not in text
    assert "Active users in all 2" in text


def test_a_fact_sheet_outside_the_users_scope_answers_404(client, users, auth):
    auth.login(users.make("reporter", "0180"))

    assert client.get(f"/organisations/{organisation('1480').id}/factsheet.pdf").status_code == 404
    assert client.get(f"/organisations/{organisation('0180').id}/factsheet.pdf").status_code == 200


def test_the_organisation_page_links_to_its_fact_sheet(client, users, auth):
    auth.login(users.make("reporter", "0180"))
    stockholm = organisation("0180")

    page = client.get(f"/organisations/{stockholm.id}").get_data(as_text=True)

    assert f'href="/organisations/{stockholm.id}/factsheet.pdf"' in page


def test_the_header_names_the_given_organisation_or_else_samordna(app, session):
    with app.test_request_context():
        sheet = fact_sheet(session, organisation("0180"))
        template = "organisations/factsheet_pdf.html"
        anonymous = pdf_text(pdf.render_pdf(template, title="Faktablad", sheet=sheet))[0]
        agency = organisation("SOS")
        named = pdf_text(pdf.render_pdf(template, organisation=agency, title="Faktablad", sheet=sheet))[0]

    assert "Samordna · Faktablad" in anonymous and re.search(r"^Samordna\b", anonymous, re.MULTILINE)
    assert "Socialstyrelsen" in named and "Socialstyrelsen" not in anonymous


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "FILE:///etc/passwd",
        "http://example.com/style.css",
        "https://example.com/logo.png",
        "http://127.0.0.1:5000/static/samordna.css",
        "ftp://example.com/x",
        f"{pdf.PDF_ORIGIN}/etc/passwd",
        f"{pdf.PDF_ORIGIN}/static/../config.py",
        f"{pdf.PDF_ORIGIN}/static/%2e%2e/config.py",
        f"{pdf.PDF_ORIGIN}/static/no-such-file.css",
    ],
)
def test_the_url_fetcher_refuses_local_files_external_addresses_and_escapes(app, url):
    fetcher = pdf.SafeURLFetcher(app.static_folder)

    with pytest.raises(pdf.RefusedURL):
        fetcher.fetch(url)


def test_the_url_fetcher_serves_data_uris_and_the_apps_static_files(app):
    fetcher = pdf.SafeURLFetcher(app.static_folder)

    data = fetcher.fetch("data:text/css;base64,Ym9keXt9")
    static = fetcher.fetch(f"{pdf.PDF_ORIGIN}/static/samordna.css")

    assert data.read() == b"body{}"
    assert static.content_type == "text/css" and b"Samordna" in static.read()


def test_a_document_cannot_pull_in_a_local_file(app, tmp_path):
    secret = tmp_path / "secret.css"
    secret.write_text('body::after { content: "LEAKED-SECRET"; }')
    allowed = "data:text/css,body::before%20%7B%20content:%20%22FROM-DATA-URI%22;%20%7D"
    html = (
        f'<link rel="stylesheet" href="{secret.as_uri()}">'
        f'<link rel="stylesheet" href="{allowed}"><p>Hej</p>'
    )

    with app.test_request_context():
        data = HTML(string=html, base_url=f"{pdf.PDF_ORIGIN}/", url_fetcher=pdf.url_fetcher()).write_pdf()

    [text] = pdf_text(data)
    assert "FROM-DATA-URI" in text and "Hej" in text
    assert "LEAKED-SECRET" not in text


def test_the_page_counter_follows_the_translated_sentence(monkeypatch):
    monkeypatch.setattr(pdf, "_", lambda text, **values: "Sida {page} av {pages}".format(**values))

    assert pdf.page_counter_content() == '"Sida " counter(page) " av " counter(pages)'


def test_css_strings_cannot_break_out_of_the_style_element():
    quoted = pdf.css_string('a"b\\c</style><script>')

    assert quoted.startswith('"') and quoted.endswith('"')
    assert "<" not in quoted and '"' not in quoted[1:-1] and "\\\\" not in quoted


def test_a_pdf_response_keeps_a_swedish_filename_for_saving():
    response = pdf.pdf_response(b"%PDF-1.7", "faktablad-göteborg.pdf")

    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("inline;") and "filename*=UTF-8''faktablad-g%C3%B6teborg.pdf" in disposition
