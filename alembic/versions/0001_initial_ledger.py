"""Initial ledger: projects, tasks, ticks, observations, events, sessions, hooks, gates, kv.

Revision ID: 0001
Revises: 
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('projects',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('default_branch', sa.String(length=255), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('mode_note', sa.Text(), nullable=True),
    sa.Column('mode_changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_projects')),
    sa.UniqueConstraint('name', name=op.f('uq_projects_name'))
    )
    op.create_table('kv',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('value', JSON, nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_kv_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kv')),
    sa.UniqueConstraint('project_id', 'host', 'key', name='uq_kv_project_host_key')
    )
    op.create_table('tasks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('branch', sa.String(length=255), nullable=False),
    sa.Column('worktree', sa.Text(), nullable=True),
    sa.Column('pending_id', sa.String(length=255), nullable=True),
    sa.Column('base_commit', sa.String(length=64), nullable=True),
    sa.Column('base_ref', sa.String(length=255), nullable=True),
    sa.Column('package', sa.String(length=200), nullable=True),
    sa.Column('allow', JSON, nullable=False),
    sa.Column('forbid', JSON, nullable=False),
    sa.Column('gates', JSON, nullable=False),
    sa.Column('agent', sa.String(length=16), nullable=False),
    sa.Column('thread_id', sa.String(length=255), nullable=True),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('condition', sa.String(length=32), nullable=True),
    sa.Column('reason', sa.String(length=64), nullable=True),
    sa.Column('condition_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('progress_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fingerprint', sa.String(length=64), nullable=True),
    sa.Column('observed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('merged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('extra', JSON, nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_tasks_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tasks')),
    sa.UniqueConstraint('project_id', 'key', name='uq_tasks_project_key')
    )
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tasks_project_id'), ['project_id'], unique=False)

    op.create_table('ticks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('clock', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('overall', sa.String(length=32), nullable=True),
    sa.Column('counts', JSON, nullable=False),
    sa.Column('health', JSON, nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_ticks_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticks'))
    )
    with op.batch_alter_table('ticks', schema=None) as batch_op:
        batch_op.create_index('ix_ticks_project_started', ['project_id', 'started_at'], unique=False)

    op.create_table('events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('task_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('tick_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('from_value', sa.String(length=64), nullable=True),
    sa.Column('to_value', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.String(length=64), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('actor', sa.String(length=32), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=True),
    sa.Column('data', JSON, nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_events_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_events_task_id_tasks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tick_id'], ['ticks.id'], name=op.f('fk_events_tick_id_ticks'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_project_kind', ['project_id', 'kind', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_task_id'), ['task_id'], unique=False)

    op.create_table('gate_runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('task_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('gate', sa.Text(), nullable=False),
    sa.Column('commit', sa.String(length=64), nullable=True),
    sa.Column('exit_code', sa.Integer(), nullable=True),
    sa.Column('timed_out', sa.Boolean(), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=True),
    sa.Column('output_tail', sa.Text(), nullable=True),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_gate_runs_task_id_tasks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gate_runs'))
    )
    with op.batch_alter_table('gate_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gate_runs_task_id'), ['task_id'], unique=False)

    op.create_table('hook_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('agent', sa.String(length=16), nullable=False),
    sa.Column('event', sa.String(length=64), nullable=False),
    sa.Column('session_id', sa.String(length=255), nullable=True),
    sa.Column('cwd', sa.Text(), nullable=True),
    sa.Column('task_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('data', JSON, nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_hook_events_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_hook_events_task_id_tasks'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_hook_events'))
    )
    with op.batch_alter_table('hook_events', schema=None) as batch_op:
        batch_op.create_index('ix_hook_events_task_at', ['task_id', 'at'], unique=False)

    op.create_table('observations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tick_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('task_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('condition', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.Column('next_action', sa.Text(), nullable=True),
    sa.Column('evidence', JSON, nullable=False),
    sa.Column('facts', JSON, nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=True),
    sa.Column('progress_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_observations_task_id_tasks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tick_id'], ['ticks.id'], name=op.f('fk_observations_tick_id_ticks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_observations'))
    )
    with op.batch_alter_table('observations', schema=None) as batch_op:
        batch_op.create_index('ix_observations_task_tick', ['task_id', 'tick_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_observations_tick_id'), ['tick_id'], unique=False)

    op.create_table('session_files',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('agent', sa.String(length=16), nullable=False),
    sa.Column('session_id', sa.String(length=255), nullable=True),
    sa.Column('cwd', sa.Text(), nullable=True),
    sa.Column('task_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('offset', sa.BigInteger(), nullable=False),
    sa.Column('inode', sa.BigInteger(), nullable=True),
    sa.Column('mtime', sa.Double(), nullable=True),
    sa.Column('head_hash', sa.String(length=64), nullable=True),
    sa.Column('state', JSON, nullable=False),
    sa.Column('last_activity_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_session_files_task_id_tasks'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_session_files')),
    sa.UniqueConstraint('host', 'path', name='uq_session_files_host_path')
    )
    with op.batch_alter_table('session_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_files_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_session_files_task_id'), ['task_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('session_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_files_task_id'))
        batch_op.drop_index(batch_op.f('ix_session_files_session_id'))

    op.drop_table('session_files')
    with op.batch_alter_table('observations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_observations_tick_id'))
        batch_op.drop_index('ix_observations_task_tick')

    op.drop_table('observations')
    with op.batch_alter_table('hook_events', schema=None) as batch_op:
        batch_op.drop_index('ix_hook_events_task_at')

    op.drop_table('hook_events')
    with op.batch_alter_table('gate_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gate_runs_task_id'))

    op.drop_table('gate_runs')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_events_task_id'))
        batch_op.drop_index('ix_events_project_kind')

    op.drop_table('events')
    with op.batch_alter_table('ticks', schema=None) as batch_op:
        batch_op.drop_index('ix_ticks_project_started')

    op.drop_table('ticks')
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tasks_project_id'))

    op.drop_table('tasks')
    op.drop_table('kv')
    op.drop_table('projects')

