""""Run now" against a database of its own, where the request and the job really have separate connections.

The shared test transaction puts every session on one connection, which hides lock conflicts between the
request's session and the job's. On SQLite a read transaction left open by the request would keep the job
from committing (database is locked); this checks the page ends it first.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.scheduling.models import JobRun
from tests.conftest import PASSWORD
from tests.support import without_shared_transaction  # noqa: F401  (the fixture)


def touch_organisations(session):
    from app.organisations.models import Organisation

    organisation = session.scalars(select(Organisation).order_by(Organisation.id)).first()
    organisation.seat = organisation.seat  # a read, and a write that commits
    session.flush()
    return f"looked at {organisation.code}"


@pytest.fixture
def own_app(tmp_path, scratch_jobs):
    scratch_jobs("test.touch_organisations", touch_organisations)
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path),
            "SECRET_KEY": "own-database",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'own.db'}",
            "WTF_CSRF_ENABLED": False,
            "PASSWORD_HASH_FAST": True,
            "BABEL_DEFAULT_LOCALE": "en",
        }
    )
    with app.app_context():
        from app.auth.services import create_user
        from app.organisations.models import Organisation
        from app.organisations.services import load_reference_data

        db.create_all()
        db.session.info["actor"] = "test-setup"
        load_reference_data(db.session)
        agency = db.session.scalar(select(Organisation).where(Organisation.code == "SOS"))
        create_user(
            db.session,
            email="admin@own.test",
            name="Own Admin",
            password=PASSWORD,
            organisation=agency,
            roles=["administrator"],
        )
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_an_administrator_runs_a_job_now_while_the_page_has_read_the_database(own_app):
    client = own_app.test_client()
    login = client.post("/auth/login", data={"email": "admin@own.test", "password": PASSWORD})
    assert login.status_code == 302

    response = client.post("/jobs/test.touch_organisations/run", follow_redirects=True)

    assert response.status_code == 200
    assert "The job test.touch_organisations succeeded." in response.get_data(as_text=True)
    with own_app.app_context():
        [run] = db.session.scalars(select(JobRun)).all()
        assert (run.outcome, run.triggered_by) == ("succeeded", "admin@own.test")
