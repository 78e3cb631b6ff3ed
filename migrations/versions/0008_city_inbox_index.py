"""inbox indexes in the inbox's exact order (due_at, then id)

A unit's inbox is `status = 'open' AND role = ? AND review_unit_code = ?` ordered by due_at, id:
ix_work_item_inbox gains the trailing id so that a page is read straight from the index. The
city-wide roles (bureau, finance: no review unit) get ix_work_item_role_due, without which their
inbox sorts every open item of the role.

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
        batch_op.drop_index('ix_work_item_inbox')
        batch_op.create_index('ix_work_item_inbox', ['status', 'role', 'review_unit_code', 'due_at', 'id'],
                              unique=False)
        batch_op.create_index('ix_work_item_role_due', ['status', 'role', 'due_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('work_item', schema=None) as batch_op:
        batch_op.drop_index('ix_work_item_role_due')
        batch_op.drop_index('ix_work_item_inbox')
        batch_op.create_index('ix_work_item_inbox', ['status', 'role', 'review_unit_code', 'due_at'], unique=False)
