"""Budgets, acceptance criteria and the brief: per-task runtime and review budgets, their clocks, the criteria
the review checks, and the hash of the brief the worker was given. Nullable columns only (no table rebuild).

Revision ID: 0009_budgets_brief
Revises: 0008_observation_runs
Create Date: 2026-11-27
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision = '0009_budgets_brief'
down_revision = '0008_observation_runs'
branch_labels = None
depends_on = None

COLUMNS = (
    ('max_runtime_s', sa.Integer()),
    ('review_budget_s', sa.Integer()),
    ('started_at', sa.DateTime(timezone=True)),
    ('review_since', sa.DateTime(timezone=True)),
    ('accept', JSON),
    ('brief', JSON),
)


def upgrade() -> None:
    for name, type_ in COLUMNS:  # ALTER TABLE ADD COLUMN on both SQLite and PostgreSQL: every row stays
        op.add_column('tasks', sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        for name, _ in reversed(COLUMNS):
            batch_op.drop_column(name)
