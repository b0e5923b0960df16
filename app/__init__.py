"""Samordna: national coordination of protective equipment and medical supplies."""
from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, has_request_context, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_babel import lazy_gettext
from flask_login import current_user
from sqlalchemy.orm import joinedload

from app.config import DEFAULT_INSTANCE, babel_locale, load_config
from app.extensions import babel, csrf, db, login_manager, migrate

# Packages that own models, blueprints, commands or jobs; each exposes init_app(app).
APP_PACKAGES = (
    "app.main",
    "app.auth",
    "app.organisations",
    "app.catalog",
    "app.audit.views",
    "app.notifications",
    "app.scheduling",
    "app.pdf",
    "app.demo",
    "app.stock",
    "suppliers",
    "orders",
    "allocation",
)


class _SecureWhenHttpsSessionInterface(SecureCookieSessionInterface):
    """Mark the session cookie Secure whenever the request came over HTTPS, whatever the config says."""

    def get_cookie_secure(self, app) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or (request and request.is_secure))


def create_app(config: dict | None = None) -> Flask:
    """Build the application. ``config`` overrides settings from the environment (tests use it)."""
    instance_path = Path((config or {}).get("INSTANCE_PATH", DEFAULT_INSTANCE))
    app = Flask(__name__, instance_path=str(instance_path), instance_relative_config=True)
    app.config.from_mapping(load_config(instance_path))
    if config:
        app.config.from_mapping(config)
    app.session_interface = _SecureWhenHttpsSessionInterface()
    if app.config.get("PROXY_FIX") or _env_flag("SAMORDNA_PROXY_FIX"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)

    register_extensions(app)
    register_packages(app)
    register_errorhandlers(app)
    register_request_hooks(app)
    logging.basicConfig(level=logging.INFO)
    return app


def _env_flag(name: str) -> bool:
    import os

    return os.environ.get(name, "").lower() in {"1", "true", "yes"}


def register_extensions(app: Flask) -> None:
    from app import numbering  # noqa: F401  (its document_sequences table belongs to the schema)
    from app.audit.capture import install as install_audit
    from app.db import Base, install_sqlite_pragmas

    install_sqlite_pragmas()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    # Flask-Login's own message, in English here and translated through the catalog like every other string.
    login_manager.login_message = lazy_gettext("Please log in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: app.config["SAMORDNA_TIMEZONE"])
    install_audit(Base)

    @login_manager.user_loader
    def load_user(user_id: str):
        from app.auth.models import User

        # Every request loads its user: the roles (which every page's navigation reads) in the same query.
        user = db.session.get(User, int(user_id), options=[joinedload(User.role_rows)])
        return user if user is not None and user.active else None


def select_locale() -> str:
    from flask import current_app

    if not has_request_context():
        return babel_locale(current_app.config["BABEL_DEFAULT_LOCALE"])
    languages = current_app.config["LANGUAGES"]
    chosen = session.get("locale")
    if chosen in languages:
        return babel_locale(chosen)
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return babel_locale(current_user.locale)
    return babel_locale(current_app.config["BABEL_DEFAULT_LOCALE"])


def register_packages(app: Flask) -> None:
    import importlib

    for name in APP_PACKAGES:
        importlib.import_module(name).init_app(app)


def register_errorhandlers(app: Flask) -> None:
    from app.errors import register_errorhandlers as register

    register(app)


def register_request_hooks(app: Flask) -> None:
    @app.before_request
    def remember_actor():
        # The audit log reads the actor from the session; the request edge is the one place that knows it.
        db.session.info["actor"] = current_user._get_current_object() if current_user.is_authenticated else None

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
        )
        return response
