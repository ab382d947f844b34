"""Misalignments keep their next action, a short label and a pointer into the evidence (one nullable JSON column).

Revision ID: 0011_trust_evidence
Revises: 0009_budgets_brief
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0011_trust_evidence'
down_revision = '0009_budgets_brief'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ADD COLUMN on both backends: no table rebuild, every row kept (old findings have no detail).
    op.add_column('misalignments', sa.Column('detail', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'),
                                             nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('misalignments', schema=None) as batch_op:
        batch_op.drop_column('detail')
