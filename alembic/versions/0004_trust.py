"""Misalignments: what a worker did beyond its constraints or authority, or claimed without evidence.

Revision ID: 0004_trust
Revises: 0002
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa

revision = '0004_trust'
down_revision = '0003_uniqueness'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('misalignments',
    sa.Column('id', BigId, nullable=False),
    sa.Column('project_id', BigId, nullable=False),
    sa.Column('task_id', BigId, nullable=True),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('severity', sa.String(length=8), nullable=False),
    sa.Column('evidence_kind', sa.String(length=32), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_note', sa.Text(), nullable=True),
    sa.Column('actor', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_misalignments_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_misalignments_task_id_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_misalignments')),
    sa.UniqueConstraint('project_id', 'dedupe_key', name='uq_misalignments_project_key')
    )
    with op.batch_alter_table('misalignments', schema=None) as batch_op:
        batch_op.create_index('ix_misalignments_project_resolved', ['project_id', 'resolved_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_misalignments_task_id'), ['task_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('misalignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_misalignments_task_id'))
        batch_op.drop_index('ix_misalignments_project_resolved')
    op.drop_table('misalignments')
