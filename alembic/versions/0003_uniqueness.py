"""One open task per branch: tasks.open_branch (the branch while the task is open) with a unique constraint.

The duplicate task id was already unique (uq_tasks_project_key). Ledgers that a concurrent dispatch left with
two open tasks on one branch keep both rows as they are: only the oldest open task gets open_branch.

Revision ID: 0003_uniqueness
Revises: 0002
Create Date: 2026-11-26
"""
import sqlalchemy as sa
from alembic import op

revision = '0003_uniqueness'
down_revision = '0002'
branch_labels = None
depends_on = None

OPEN = ('setup', 'active', 'reviewing', 'blocked')


def upgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('open_branch', sa.String(length=255), nullable=True))
    tasks = sa.table('tasks', sa.column('id', sa.Integer), sa.column('project_id', sa.Integer),
                     sa.column('branch', sa.String), sa.column('status', sa.String),
                     sa.column('open_branch', sa.String))
    conn = op.get_bind()
    oldest = (sa.select(sa.func.min(tasks.c.id)).where(tasks.c.status.in_(OPEN))
              .group_by(tasks.c.project_id, tasks.c.branch))
    conn.execute(tasks.update().where(tasks.c.id.in_(oldest)).values(open_branch=tasks.c.branch))
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_tasks_open_branch', ['project_id', 'open_branch'])


def downgrade() -> None:
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_constraint('uq_tasks_open_branch', type_='unique')
        batch_op.drop_column('open_branch')
