"""audit_verification: results of full walks of the audit chain

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa
import services.db.base

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_verification',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('verified_at', services.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('checked', sa.BigInteger(), nullable=False),
    sa.Column('head_hash', sa.String(length=64), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('broken_at', sa.BigInteger(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_verification'))
    )
    with op.batch_alter_table('audit_verification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_verification_verified_at'), ['verified_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_verification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_verification_verified_at'))
    op.drop_table('audit_verification')
