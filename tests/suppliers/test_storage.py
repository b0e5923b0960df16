"""Uploaded files: checks by magic bytes, the size limit, random keys, files that follow the transaction."""

from __future__ import annotations

import hashlib
import io

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from suppliers import storage
from suppliers.models import Document
from suppliers.services_certificates import Upload, attach_document
from tests.suppliers.factories import MINIMAL_PDF, MINIMAL_PNG, make_supplier

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64


def _files(app) -> set:
    with app.app_context():
        root = storage.upload_dir()
    return {path for path in root.rglob("*") if path.is_file()} if root.exists() else set()


@pytest.fixture
def officer(users):
    return users.make("purchasing_officer")


@pytest.mark.parametrize(
    ("content", "content_type", "extension"),
    [
        (MINIMAL_PDF, "application/pdf", ".pdf"),
        (MINIMAL_PNG, "image/png", ".png"),
        (JPEG, "image/jpeg", ".jpg"),
    ],
)
def test_pdf_png_and_jpeg_are_recognised_by_their_first_bytes(content, content_type, extension):
    kind = storage.sniff(content)
    assert kind is not None and kind.content_type == content_type and kind.extension == extension


@pytest.mark.parametrize(
    "content",
    [
        b"<html><script>alert(1)</script></html>",
        b"PK\x03\x04 a zip or a docx",
        b"GIF89a",
        b" %PDF-1.4 late header",
    ],
)
def test_anything_else_is_refused_whatever_its_name(session, content):
    with pytest.raises(storage.UploadRejected) as refused:
        storage.store(session, io.BytesIO(content), "certificate.pdf")
    assert refused.value.field == "file"
    assert "Only PDF, PNG and JPEG" in refused.value.message


def test_an_empty_file_is_refused(session):
    with pytest.raises(storage.UploadRejected, match="empty"):
        storage.store(session, io.BytesIO(b""), "empty.pdf")


def test_a_file_over_the_configured_limit_is_refused_and_leaves_nothing_behind(app, session, monkeypatch):
    monkeypatch.setitem(app.config, "SAMORDNA_MAX_UPLOAD_BYTES", 100_000)
    before = _files(app)
    big = MINIMAL_PDF + b"0" * 100_000

    with pytest.raises(storage.UploadRejected) as refused:
        storage.store(session, io.BytesIO(big), "big.pdf")

    assert "larger than" in refused.value.message
    assert _files(app) == before


def test_a_file_at_the_limit_is_taken(app, session, monkeypatch):
    monkeypatch.setitem(app.config, "SAMORDNA_MAX_UPLOAD_BYTES", 100_000)
    content = MINIMAL_PDF + b"0" * (100_000 - len(MINIMAL_PDF))

    stored = storage.store(session, io.BytesIO(content), "exact.pdf")

    assert stored.size_bytes == 100_000


def test_the_default_limit_is_ten_megabytes(app):
    with app.app_context():
        assert storage.max_upload_bytes() == 10 * 1024 * 1024
        assert storage.size_limit_text() == "10 MB"


def test_a_stored_file_gets_a_random_key_outside_the_web_root_and_its_sha256(app, session):
    first = storage.store(session, io.BytesIO(MINIMAL_PDF), "../../etc/passwd.pdf")
    second = storage.store(session, io.BytesIO(MINIMAL_PDF), "../../etc/passwd.pdf")
    session.commit()

    assert first.storage_key != second.storage_key and len(first.storage_key) == 32
    assert first.sha256 == hashlib.sha256(MINIMAL_PDF).hexdigest()
    path = storage.path_of(first.storage_key)
    assert path.read_bytes() == MINIMAL_PDF
    assert path.is_relative_to(app.instance_path) and not path.is_relative_to(app.static_folder)
    assert first.filename == "passwd.pdf"


def test_a_storage_key_cannot_point_outside_the_upload_folder(app):
    with app.app_context():
        for key in ("../secret_key", "/etc/passwd", "ab/../../x", "", "A" * 32):
            with pytest.raises(ValueError):
                storage.path_of(key)


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("Intyg för FFP2.pdf", MINIMAL_PDF, "Intyg för FFP2.pdf"),
        ("report.html", MINIMAL_PNG, "report.png"),
        ('C:\\Users\\kim\\"scan"\r\n.jpeg', JPEG, "scan.jpg"),
        ("", MINIMAL_PDF, "document.pdf"),
        (None, MINIMAL_PDF, "document.pdf"),
    ],
)
def test_a_filename_is_made_safe_and_gets_the_extension_of_its_content(name, content, expected):
    assert storage.safe_filename(name, storage.sniff(content)) == expected


def test_a_rolled_back_upload_removes_its_file_and_row(app, session, officer):
    supplier = make_supplier(session)
    session.commit()
    before = _files(app)

    attach_document(session, officer, supplier, Upload(io.BytesIO(MINIMAL_PDF), "intyg.pdf"))
    assert len(_files(app) - before) == 1
    session.rollback()

    assert _files(app) == before
    assert session.scalar(select(func.count()).select_from(Document)) == 0


def test_a_commit_that_fails_removes_the_file_it_wrote(app, session, officer):
    supplier = make_supplier(session)
    session.commit()
    before = _files(app)
    attach_document(session, officer, supplier, Upload(io.BytesIO(MINIMAL_PDF), "intyg.pdf"))
    # A second row with the same storage key breaks the unique constraint when the transaction commits.
    document = session.scalars(select(Document)).one()
    session.add(
        Document(
            supplier=supplier,
            title="copy",
            filename="copy.pdf",
            content_type="application/pdf",
            size_bytes=1,
            sha256="0" * 64,
            storage_key=document.storage_key,
        )
    )

    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()

    assert _files(app) == before


def test_a_committed_upload_keeps_its_file(app, session, officer):
    supplier = make_supplier(session)
    document = attach_document(
        session, officer, supplier, Upload(io.BytesIO(MINIMAL_PDF), "intyg.pdf", "Intyg")
    )
    session.commit()
    key, title, size = document.storage_key, document.title, document.size_bytes
    session.close()

    assert storage.path_of(key).read_bytes() == MINIMAL_PDF
    assert title == "Intyg" and size == len(MINIMAL_PDF)


def test_a_file_written_in_a_savepoint_that_is_rolled_back_is_removed_while_the_rest_commits(app, session):
    before = _files(app)
    kept = storage.store(session, io.BytesIO(MINIMAL_PDF), "kept.pdf")
    savepoint = session.begin_nested()
    dropped = storage.store(session, io.BytesIO(MINIMAL_PNG), "dropped.png")
    savepoint.rollback()
    released = session.begin_nested()
    handed_up = storage.store(session, io.BytesIO(JPEG), "handed-up.jpg")
    released.commit()
    session.commit()

    assert storage.path_of(kept.storage_key).exists()
    assert storage.path_of(handed_up.storage_key).exists()
    assert not storage.path_of(dropped.storage_key).exists()
    assert len(_files(app) - before) == 2
