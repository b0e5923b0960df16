"""Settings from the environment, with safe defaults for a first run on SQLite."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = PROJECT_ROOT / "instance"


def _secret_key(instance_path: Path) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in instance/ (never committed)."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_config(instance_path: Path) -> dict:
    """Build the Flask config dict. Every value can be overridden by an environment variable."""
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance_path / 'samordna.db'}"
    if database_url.startswith("postgresql://"):
        # psycopg 3 is the driver; plain postgresql:// would ask SQLAlchemy for psycopg2.
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    max_upload = int(os.environ.get("SAMORDNA_MAX_UPLOAD_BYTES", 10 * 1024 * 1024))
    return {
        "SECRET_KEY": _secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Secure is also set per request when the request itself came over HTTPS (see app.auth.sessions).
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE"),
        "PERMANENT_SESSION_LIFETIME": int(os.environ.get("SESSION_LIFETIME_SECONDS", 8 * 3600)),
        "WTF_CSRF_TIME_LIMIT": None,
        # Whole requests; an upload's own limit (below) is checked with a message beside the file field.
        "MAX_CONTENT_LENGTH": int(
            os.environ.get("MAX_CONTENT_LENGTH", max(20 * 1024 * 1024, max_upload + 1024 * 1024))
        ),
        # Supplier documents are kept outside the web root (suppliers/storage.py).
        "SAMORDNA_UPLOAD_DIR": os.environ.get("SAMORDNA_UPLOAD_DIR") or str(instance_path / "uploads"),
        "SAMORDNA_MAX_UPLOAD_BYTES": max_upload,
        # Indicative SEK per unit of other currencies for comparing offers, e.g. "EUR=11.45,USD=10.52", and the
        # day they were taken; empty means offers in other currencies are not converted.
        "SAMORDNA_REFERENCE_RATES": os.environ.get("SAMORDNA_REFERENCE_RATES", ""),
        "SAMORDNA_REFERENCE_RATES_DATE": os.environ.get("SAMORDNA_REFERENCE_RATES_DATE", ""),
        # The prefix of OCDS process identifiers (ocid) in the EU joint procurement export (orders/ocds.py); a
        # publisher registers its own prefix with the Open Contracting Partnership.
        "SAMORDNA_OCDS_PREFIX": os.environ.get("SAMORDNA_OCDS_PREFIX", "ocds-samordna-"),
        "BABEL_DEFAULT_LOCALE": "sv",
        "BABEL_DEFAULT_TIMEZONE": os.environ.get("SAMORDNA_TIMEZONE", "Europe/Stockholm"),
        "SAMORDNA_TIMEZONE": os.environ.get("SAMORDNA_TIMEZONE", "Europe/Stockholm"),
        "LANGUAGES": {"sv": "Svenska", "en": "English"},
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", ""),
        "MAIL_PORT": int(os.environ.get("MAIL_PORT", 587)),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS", True),
        "MAIL_SENDER": os.environ.get("MAIL_SENDER", "Samordna <noreply@samordna.local>"),
        "LOGIN_MAX_FAILURES": int(os.environ.get("LOGIN_MAX_FAILURES", 5)),
        "LOGIN_FAILURE_WINDOW_MINUTES": int(os.environ.get("LOGIN_FAILURE_WINDOW_MINUTES", 15)),
        "LOGIN_LOCK_MINUTES": int(os.environ.get("LOGIN_LOCK_MINUTES", 15)),
        "PAGE_SIZE": int(os.environ.get("PAGE_SIZE", 50)),
        "SCHEDULER_LOCK_FILE": str(instance_path / "scheduler.lock"),
    }


# English pages follow British conventions ("24 Nov 2026", "24/11/2026, 15:45", a 24-hour clock): Babel's
# plain "en" is American, and a month-first 3/4/26 reads as the 3rd of April to a Swedish official.
FORMATTING_LOCALES = {"en": "en_GB"}


def babel_locale(language: str) -> str:
    """The Babel locale that pages in ``language`` (a key of LANGUAGES: "sv", "en") are written in."""
    return FORMATTING_LOCALES.get(language, language)
