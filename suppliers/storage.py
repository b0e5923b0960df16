"""Uploaded files kept outside the web root: content checks, random storage keys and transactional cleanup.

A file is stored under a random key in ``SAMORDNA_UPLOAD_DIR`` (default ``<instance>/uploads``), never under
the name the user gave it, and only PDF, PNG and JPEG files are taken, recognised by their first bytes (magic
numbers) rather than by name or the browser's content type. ``SAMORDNA_MAX_UPLOAD_BYTES`` (default 10 MB)
limits the size.

The file and its database row are one action: :func:`store` writes the file at once but remembers it on the
session, and a listener removes it again when the session's transaction ends without a commit (a rollback,
a failed commit, a request that ended with an error). Only a committed transaction keeps the file. The row
is added after the file is written, so a failed write never leaves a row behind.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import event
from sqlalchemy.orm import Session, scoped_session

from app.errors import DomainError

DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
CHUNK_BYTES = 64 * 1024
_PENDING = "suppliers.storage.pending"  # session.info key: {transaction: files written in it}
_KEY_PATTERN = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class FileType:
    content_type: str
    extension: str
    magic: bytes


FILE_TYPES = (
    FileType("application/pdf", ".pdf", b"%PDF-"),
    FileType("image/png", ".png", b"\x89PNG\r\n\x1a\n"),
    FileType("image/jpeg", ".jpg", b"\xff\xd8\xff"),
)
_BY_CONTENT_TYPE = {kind.content_type: kind for kind in FILE_TYPES}


class UploadRejected(DomainError):
    """The file is empty, too large or not a PDF, PNG or JPEG; shown beside the ``file`` field."""

    def __init__(self, message: str):
        super().__init__(message, field="file")


@dataclass(frozen=True)
class StoredFile:
    storage_key: str
    sha256: str
    size_bytes: int
    content_type: str
    filename: str


def sniff(head: bytes) -> FileType | None:
    """The file type its first bytes announce, or None when it is none of the allowed ones."""
    return next((kind for kind in FILE_TYPES if head.startswith(kind.magic)), None)


def upload_dir() -> Path:
    configured = current_app.config.get("SAMORDNA_UPLOAD_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "uploads"


def max_upload_bytes() -> int:
    return int(current_app.config.get("SAMORDNA_MAX_UPLOAD_BYTES") or DEFAULT_MAX_UPLOAD_BYTES)


def size_limit_text(limit: int | None = None) -> str:
    """The limit as people say it, e.g. "10 MB" or "500 kB"."""
    limit = max_upload_bytes() if limit is None else limit
    if limit < 1024 * 1024:
        return f"{format_decimal(round(limit / 1024))} kB"
    return f"{format_decimal(round(limit / (1024 * 1024), 1))} MB"


def too_large_message() -> str:
    return _("The file is larger than %(limit)s. Upload a smaller file.", limit=size_limit_text())


def path_of(storage_key: str) -> Path:
    """Where a stored file lives. Refuses anything but a key this module made (no path tricks)."""
    if not _KEY_PATTERN.match(storage_key or ""):
        raise ValueError("not a storage key")
    return upload_dir() / storage_key[:2] / storage_key


def safe_filename(name: str | None, file_type: FileType) -> str:
    """A name safe to show and to send back: no directories or control characters, the right extension.

    Letters outside ASCII (å, ä, ö) are kept; the extension always matches the content, so a PNG uploaded
    as ``report.html`` comes back as ``report.png``.
    """
    base = re.split(r"[\\/]", name or "")[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C" and ch not in '"<>:|?*')
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = re.sub(r"\s+", " ", stem).strip(" .") or "document"
    return stem[:120] + file_type.extension


def store(session: Session, stream: BinaryIO, filename: str | None) -> StoredFile:
    """Write an upload under a new random key and remember it on the session until the transaction ends.

    Reads at most the size limit plus one byte. Raises UploadRejected for an empty file, one larger than
    ``SAMORDNA_MAX_UPLOAD_BYTES`` or one that is not a PDF, PNG or JPEG by its content; nothing is kept then.
    """
    limit = max_upload_bytes()
    head = stream.read(CHUNK_BYTES)
    if not head:
        raise UploadRejected(_("The file is empty."))
    file_type = sniff(head)
    if file_type is None:
        raise UploadRejected(_("Only PDF, PNG and JPEG files can be uploaded; this file is none of them."))
    key = secrets.token_hex(16)
    final = path_of(key)
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = final.with_name(f".{key}.part")
    digest = hashlib.sha256()
    size = 0
    try:
        with open(temporary, "xb") as out:
            chunk = head
            while chunk:
                size += len(chunk)
                if size > limit:
                    raise UploadRejected(too_large_message())
                digest.update(chunk)
                out.write(chunk)
                chunk = stream.read(CHUNK_BYTES)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, final)
    finally:
        temporary.unlink(missing_ok=True)
    if isinstance(session, scoped_session):
        session = session()  # the request's own session, which the listeners are given
    _pending(session).setdefault(_current_transaction(session), []).append(final)
    return StoredFile(
        key, digest.hexdigest(), size, file_type.content_type, safe_filename(filename, file_type)
    )


def file_type_of(content_type: str) -> FileType | None:
    return _BY_CONTENT_TYPE.get(content_type)


def _pending(session: Session) -> dict:
    return session.info.setdefault(_PENDING, {})


def _current_transaction(session: Session):
    """The innermost transaction (a savepoint when one is open), begun if the session has none yet."""
    if session.get_transaction() is None:
        session.connection()  # autobegins
    return session.get_nested_transaction() or session.get_transaction()


def _committed(session: Session) -> None:
    # A released savepoint hands its files to the enclosing transaction; the outermost commit keeps them.
    transaction = session.get_nested_transaction() or session.get_transaction()
    files = _pending(session).pop(transaction, [])
    if files and transaction.nested and transaction.parent is not None:
        _pending(session).setdefault(transaction.parent, []).extend(files)


def _ended(session: Session, transaction) -> None:
    # Still pending when its transaction ends means the transaction did not commit: remove the files.
    for path in session.info.get(_PENDING, {}).pop(transaction, []):
        Path(path).unlink(missing_ok=True)


def install() -> None:
    """Listen on every session: a commit keeps the files written in it, any other end removes them."""
    if not event.contains(Session, "after_commit", _committed):
        event.listen(Session, "after_commit", _committed)
        event.listen(Session, "after_transaction_end", _ended)


install()
