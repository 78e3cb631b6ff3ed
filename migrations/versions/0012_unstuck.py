"""unstuck: reserved for issue 13 (finance deferral, escalation of steps no one may take)

Revision ID: 0012
Revises: 0011

The revision numbers 0010-0016 were reserved in one chain so that the open issues could each add their
schema without two heads; a reserved revision that no change needed stays empty (a no-op).
"""
from alembic import op
import sqlalchemy as sa
import services.db.base

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # why no eligible officer of the unit may take an open step (segregation of duties), and where it went
    with op.batch_alter_table('work_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('blocked_reason', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('work_item', schema=None) as batch_op:
        batch_op.drop_column('blocked_reason')
