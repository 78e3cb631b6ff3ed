"""an index for the inboxes of the city-wide roles (bureau, finance: no review unit)

Their inbox is `status = 'open' AND role = ?` in deadline order; ix_work_item_inbox puts the review
unit before due_at, so without this index the query sorts every open item of the role.

Revision ID: 0008
Revises: 0007
"""
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('work_item', schema=None) as batch_op:
        batch_op.create_index('ix_work_item_role_due', ['status', 'role', 'due_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('work_item', schema=None) as batch_op:
        batch_op.drop_index('ix_work_item_role_due')
