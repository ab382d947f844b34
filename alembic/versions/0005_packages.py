"""Feature packages (goal, spec, acceptance gates) and their acceptance gate runs.

Revision ID: 0005_packages
Revises: 0002
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

revision = '0005_packages'
down_revision = '0004_trust'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('packages',
    sa.Column('id', BigId, nullable=False),
    sa.Column('project_id', BigId, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('goal', sa.Text(), nullable=False),
    sa.Column('spec', sa.Text(), nullable=True),
    sa.Column('accept', JSON, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('close_note', sa.Text(), nullable=True),
    sa.Column('extra', JSON, nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_packages_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_packages')),
    sa.UniqueConstraint('project_id', 'name', name='uq_packages_project_name')
    )
    op.create_table('package_gate_runs',
    sa.Column('id', BigId, nullable=False),
    sa.Column('package_id', BigId, nullable=False),
    sa.Column('gate', sa.Text(), nullable=False),
    sa.Column('commit', sa.String(length=64), nullable=True),
    sa.Column('branch', sa.String(length=255), nullable=True),
    sa.Column('dirty', sa.Boolean(), nullable=False),
    sa.Column('exit_code', sa.Integer(), nullable=True),
    sa.Column('timed_out', sa.Boolean(), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=True),
    sa.Column('output_tail', sa.Text(), nullable=True),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['package_id'], ['packages.id'], name=op.f('fk_package_gate_runs_package_id_packages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_package_gate_runs'))
    )
    with op.batch_alter_table('package_gate_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_package_gate_runs_package_id'), ['package_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('package_gate_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_package_gate_runs_package_id'))
    op.drop_table('package_gate_runs')
    op.drop_table('packages')
