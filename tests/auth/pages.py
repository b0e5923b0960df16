"""Reading what a rendered page tells the user: the message beside a field, the messages above a form."""
from __future__ import annotations

import html
import re


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def error_beside(response, field_id: str) -> str:
    """The error shown beside a form field (the macros give it the id ``<field>-error``), or ''."""
    match = re.search(
        rf'<p class="error" id="{re.escape(field_id)}-error">(.*?)</p>',
        response.get_data(as_text=True),
        re.DOTALL,
    )
    return _text(match.group(1)) if match else ""


def form_message(response) -> str:
    """The error shown above the form (login refusals), or ''."""
    match = re.search(
        r'<div class="flash flash-error" role="alert">(.*?)</div>', response.get_data(as_text=True), re.DOTALL
    )
    return _text(match.group(1)) if match else ""


def page_text(response) -> str:
    return _text(response.get_data(as_text=True))
