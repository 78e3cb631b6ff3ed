"""sandbox: recorded policy simulations (issue 11)

Revision ID: 0015
Revises: 0014

The revision numbers 0010-0016 were reserved in one chain so that the open issues could each add their
schema without two heads.
"""
from alembic import op
import sqlalchemy as sa
import services.db.base

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('policy_simulation',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', services.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('draft_code', sa.String(length=40), nullable=False),
    sa.Column('draft_sha256', sa.String(length=64), nullable=False),
    sa.Column('draft_source', sa.String(length=200), nullable=False),
    sa.Column('against_code', sa.String(length=40), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('take_up', sa.String(length=20), nullable=False),
    sa.Column('figures', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_simulation'))
    )
    with op.batch_alter_table('policy_simulation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_policy_simulation_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_policy_simulation_draft_sha256'), ['draft_sha256'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('policy_simulation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_policy_simulation_draft_sha256'))
        batch_op.drop_index(batch_op.f('ix_policy_simulation_created_at'))
    op.drop_table('policy_simulation')
