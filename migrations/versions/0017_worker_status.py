"""worker_status: each `smeflow worker` process's state and heartbeat, shown on the dashboard

Revision ID: 0017
Revises: 0016
"""
from alembic import op
import sqlalchemy as sa
import services.db.base

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('worker_status',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('host', sa.String(length=120), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('started_at', services.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('seen_at', services.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_worker_status'))
    )
    with op.batch_alter_table('worker_status', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_worker_status_seen_at'), ['seen_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('worker_status', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_worker_status_seen_at'))
    op.drop_table('worker_status')
