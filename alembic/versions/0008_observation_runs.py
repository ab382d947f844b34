"""Observation runs: a row per run of identical observations, with its first and last tick.

Each existing observation becomes a run of one tick (last_tick_id NULL): no row is merged or dropped here;
`orch db prune` removes what retention allows. Only nullable columns are added, so SQLite needs no table
rebuild. On PostgreSQL the two tables updated at every tick keep half of each page free (fillfactor 50).

Revision ID: 0008_observation_runs
Revises: 0007_history
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa

revision = '0008_observation_runs'
down_revision = '0007_history'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('observations', sa.Column('last_tick_id', sa.BigInteger(), nullable=True))
    op.add_column('observations', sa.Column('last_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('observations', sa.Column('digest', sa.String(length=64), nullable=True))
    if op.get_bind().dialect.name == 'postgresql':
        # Every tick updates each task's row and the end of its current run: with room left in each page those
        # updates stay on the page (HOT) and PostgreSQL reclaims the old versions without waiting for a VACUUM.
        op.execute('ALTER TABLE tasks SET (fillfactor = 50)')
        op.execute('ALTER TABLE observations SET (fillfactor = 50)')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE tasks RESET (fillfactor)')
        op.execute('ALTER TABLE observations RESET (fillfactor)')
    # Back to a row per tick: each run is expanded into the ticks it covers (its host's ok ticks between its
    # first and last, and those two), so that nothing it stood for is lost; then the columns go.
    op.execute(
        "INSERT INTO observations (tick_id, task_id, at, condition, reason, next_action, evidence, facts, "
        "fingerprint, progress_at) "
        "SELECT t.id, o.task_id, t.clock, o.condition, o.reason, o.next_action, o.evidence, o.facts, "
        "o.fingerprint, o.progress_at FROM observations o "
        "JOIN ticks t0 ON t0.id = o.tick_id "
        "JOIN ticks t ON t.project_id = t0.project_id AND t.host = t0.host AND t.id > o.tick_id "
        "AND t.id <= o.last_tick_id AND (t.outcome = 'ok' OR t.id = o.last_tick_id) "
        "WHERE o.last_tick_id IS NOT NULL")
    with op.batch_alter_table('observations', schema=None) as batch_op:
        batch_op.drop_column('digest')
        batch_op.drop_column('last_at')
        batch_op.drop_column('last_tick_id')
