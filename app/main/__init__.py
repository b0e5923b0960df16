"""The start page, language switch, health check, navigation and template helpers."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask import Blueprint, request, url_for
from flask_babel import format_datetime, format_decimal, get_locale

bp = Blueprint("main", __name__, template_folder="templates")


@dataclass(frozen=True)
class NavEntry:
    endpoint: str
    label: object
    permission: object  # a Permission, or the string "authenticated"
    order: int


_NAVIGATION: list[NavEntry] = []


def register_nav(endpoint: str, label, permission, order: int = 100) -> None:
    """Packages add their main pages to the top navigation; each entry shows only to roles allowed it."""
    if all(entry.endpoint != endpoint for entry in _NAVIGATION):
        _NAVIGATION.append(NavEntry(endpoint, label, permission, order))
        _NAVIGATION.sort(key=lambda entry: entry.order)


def active_url(path: str, urls: list[str]) -> str | None:
    """The navigation URL the page at ``path`` belongs to: the longest one that is a prefix of it.

    Nested sections (/suppliers/ and /suppliers/production/) would otherwise both be marked active. The
    start page "/" is a prefix of everything, so it is active only on itself.
    """
    matching = [url for url in urls if path == url or (url != "/" and path.startswith(url))]
    return max(matching, key=len, default=None)


def navigation_for(user) -> list[dict]:
    from app.auth.access import AUTHENTICATED, has_permission

    items = [
        {"url": url_for(entry.endpoint), "label": entry.label}
        for entry in _NAVIGATION
        if entry.permission == AUTHENTICATED or has_permission(user, entry.permission)
    ]
    active = active_url(request.path, [item["url"] for item in items])
    for item in items:
        item["active"] = item["url"] == active
    return items


def _format_value(value):
    if isinstance(value, bool):
        from flask_babel import gettext as _

        return _("Yes") if value else _("No")
    if isinstance(value, datetime):
        # Aware UTC from the database, shown in Samordna's time zone as |datetimeformat('short') shows it.
        return format_datetime(value, "short")
    if isinstance(value, (int, float, Decimal)):
        return format_decimal(value)
    if hasattr(value, "label") and not isinstance(value, str):
        return value.label
    return value


def init_app(app) -> None:
    from flask_login import current_user

    from app.main import views  # noqa: F401  (routes)

    app.register_blueprint(bp)
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.filters["format_value"] = _format_value

    from app.auth.access import has_permission
    from app.auth.roles import Permission

    @app.context_processor
    def template_helpers():
        return {
            # The user itself, not the proxy: each entry's permission check would go through it three times.
            "navigation": lambda: navigation_for(current_user._get_current_object()),
            "current_locale": lambda: get_locale().language if get_locale() else "sv",  # "en", not "en_GB"
            "can": lambda permission: has_permission(current_user, Permission(permission)),
            "Permission": Permission,
        }
