"""`flask demo load` gives one user per role and periods to report into, and can run again."""
from sqlalchemy import func, select

from allocation.models import ReportingPeriod
from app.auth.models import User
from app.demo import DEMO_USERS


def test_demo_load_creates_every_demo_user_and_opens_reporting_periods(runner, session):
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    emails = {d.email for d in DEMO_USERS}
    assert session.scalar(select(func.count()).select_from(User).where(User.email.in_(emails))) == len(emails)
    assert session.scalar(select(func.count()).select_from(ReportingPeriod)) >= 2
    again = runner.invoke(args=["demo", "load"])
    assert again.exit_code == 0 and "0 created" in again.output and "opened: 0" in again.output
