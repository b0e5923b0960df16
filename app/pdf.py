"""PDF documents: render a Jinja template to PDF with WeasyPrint, with a locked-down URL fetcher.

Every PDF extends ``pdf/base.html``: A4, the organisation's name in the page header, "Page X of Y" and the
creation time (Europe/Stockholm) in the footer, and fonts that carry å, ä and ö.

WeasyPrint fetches whatever a document points at: stylesheets, images, fonts. A template that shows user
input could otherwise make the server read ``file:///etc/passwd`` or call an internal address, so the fetcher
serves only ``data:`` URIs and the application's own static files, read from disk (as Indico does for its
receipts in ``indico/modules/receipts/util.py``).
"""
from __future__ import annotations

import mimetypes
import re
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from flask import Response, current_app, has_request_context, render_template, request
from flask_babel import get_locale, get_timezone
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse
from werkzeug.security import safe_join

from app.db import utcnow

# Documents are rendered against this base, so "/static/x.css" (what url_for gives) becomes a URL on a host
# that cannot exist (RFC 2606 ".invalid"); the fetcher maps exactly that host to the static folder.
PDF_ORIGIN = "http://samordna-pdf.invalid"
DEFAULT_HEADER = "Samordna"


class RefusedURL(ValueError):
    """The document asked for something outside data: URIs and the application's static files."""


class SafeURLFetcher(URLFetcher):
    """Serves ``data:`` URIs and files under the static folder; refuses file:, other hosts and the rest."""

    def __init__(self, static_folder: str | Path, static_prefix: str = "/static/"):
        super().__init__(timeout=5, allowed_protocols={"data"}, allow_redirects=False, fail_on_errors=False)
        self._static_folder = str(Path(static_folder).resolve())
        self._static_prefix = static_prefix if static_prefix.endswith("/") else static_prefix + "/"

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "http" and f"{scheme}://{parts.netloc.lower()}" == PDF_ORIGIN:
            return self._static_file(url, unquote(parts.path))
        raise RefusedURL(f"refused to fetch {url!r}: only data: URIs and the application's static files")

    def _static_file(self, url: str, path: str) -> URLFetcherResponse:
        if not path.startswith(self._static_prefix):
            raise RefusedURL(f"refused to fetch {url!r}: not a static file")
        # safe_join refuses "..", absolute parts and other ways out of the folder.
        target = safe_join(self._static_folder, path.removeprefix(self._static_prefix))
        if target is None or not Path(target).is_file():
            raise RefusedURL(f"refused to fetch {url!r}: no such static file")
        mime_type = mimetypes.guess_type(target)[0] or "application/octet-stream"
        return URLFetcherResponse(url, Path(target).read_bytes(), {"Content-Type": mime_type})


def url_fetcher() -> SafeURLFetcher:
    app = current_app
    script_root = request.script_root if has_request_context() else ""
    return SafeURLFetcher(app.static_folder, f"{script_root}{app.static_url_path}/")


def css_string(text: str) -> str:
    """``text`` as a quoted CSS string, safe inside a <style> element."""
    escaped = "".join(
        f"\\{ord(char):X} " if char in '"\\<>&\n\r' or ord(char) < 32 else char for char in str(text)
    )
    return f'"{escaped}"'


def page_counter_content() -> Markup:
    """The CSS ``content`` value for the translated "Page X of Y", counters in place of the numbers.

    Built from the whole translated sentence so a language can put the numbers in any order.
    """
    marker_page, marker_pages = "\x00PAGE\x00", "\x00PAGES\x00"
    sentence = _("Page %(page)s of %(pages)s", page=marker_page, pages=marker_pages)
    parts: list[str] = []
    for chunk in sentence.split(marker_page):
        if parts:
            parts.append("counter(page)")
        pieces = chunk.split(marker_pages)
        for index, piece in enumerate(pieces):
            if index:
                parts.append("counter(pages)")
            if piece:
                parts.append(css_string(piece))
    return Markup(" ".join(parts))


def _header_name(organisation) -> str:
    if organisation is not None:
        return organisation.name
    if has_request_context() and current_user.is_authenticated:
        return current_user.organisation.name
    return DEFAULT_HEADER


def render_pdf(template_name: str, *, organisation=None, title: str, **context) -> bytes:
    """Render ``template_name`` (which extends ``pdf/base.html``) to PDF bytes.

    The page header names ``organisation``, else the requesting user's organisation, else Samordna.
    Needs an application context; inside a request, ``url_for('static', ...)`` works for images and CSS.
    """
    pdf = {
        "title": title,
        "organisation_name": _header_name(organisation),
        "created_at": utcnow(),  # shown in the configured zone, Europe/Stockholm
        "timezone": str(get_timezone()),
        "locale": get_locale().language if get_locale() else current_app.config.get("BABEL_DEFAULT_LOCALE", "sv"),
        "page_counter": page_counter_content(),
    }
    html = render_template(template_name, pdf=pdf, **context)
    return HTML(string=html, base_url=f"{PDF_ORIGIN}/", url_fetcher=url_fetcher()).write_pdf()


def pdf_response(pdf_bytes: bytes, filename: str) -> Response:
    """Answer with the PDF shown in the browser; the filename is used when the user saves it."""
    ascii_name = re.sub(r'[^A-Za-z0-9._ -]', "_", filename)
    disposition = f'inline; filename="{ascii_name}"'
    if ascii_name != filename:
        disposition += f"; filename*=UTF-8''{quote(filename, safe='')}"
    response = Response(pdf_bytes, mimetype="application/pdf")
    response.headers["Content-Disposition"] = disposition
    # The documents describe organisations' situation; shared caches must not keep them.
    response.headers["Cache-Control"] = "private, no-store"
    return response


def init_app(app) -> None:
    """Nothing to set up: WeasyPrint is imported with this module and fonts come from fontconfig."""
