"""Index ticks by project, host and clock, so that `orch history` and the timeline read a window, not the year.

Revision ID: 0007_history
Revises: 0002
Create Date: 2026-11-26
"""
from alembic import op

revision = '0007_history'
down_revision = '0005_packages'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('ticks', schema=None) as batch_op:
        batch_op.create_index('ix_ticks_project_host_clock', ['project_id', 'host', 'clock'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ticks', schema=None) as batch_op:
        batch_op.drop_index('ix_ticks_project_host_clock')
