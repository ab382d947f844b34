"""${message}

Every row must survive this migration on SQLite and PostgreSQL (tests/test_upgrade.py checks each revision).
A migration that changes existing rows on purpose defines `expected_data(data)`: {table: {primary key:
{column: value}}} before it -> what it must be after it. Rows it cannot keep: raise
orchestrator.ledger.migrate.Refused("what is wrong", fix="what to do"); the upgrade then changes nothing.

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}
"""
from alembic import op
import sqlalchemy as sa
import orchestrator.db.types
${imports if imports else ""}

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
