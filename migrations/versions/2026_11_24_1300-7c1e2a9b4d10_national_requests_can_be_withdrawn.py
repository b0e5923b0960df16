"""national requests can be withdrawn

Revision ID: 7c1e2a9b4d10
Revises: f040f4fc8b35
Create Date: 2026-11-24 13:00:00

"""
from alembic import op

revision = "7c1e2a9b4d10"
down_revision = "f040f4fc8b35"
branch_labels = None
depends_on = None

BEFORE = "status IN ('submitted', 'in_round', 'answered', 'declined')"
AFTER = "status IN ('submitted', 'in_round', 'answered', 'declined', 'withdrawn')"


def _replace_status_check(condition: str) -> None:
    # SQLite cannot alter a constraint in place; batch mode rebuilds the table (it has no triggers).
    with op.batch_alter_table("national_requests") as batch:
        batch.drop_constraint(op.f("ck_national_requests_status"), type_="check")
        batch.create_check_constraint("status", condition)


def upgrade():
    _replace_status_check(AFTER)


def downgrade():
    op.execute("UPDATE national_requests SET status = 'declined' WHERE status = 'withdrawn'")
    _replace_status_check(BEFORE)
