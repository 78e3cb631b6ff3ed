"""arrears_intake: issue 14 item 1: complaints transferred by the provincial acceptance department
(受理投诉部门) are recorded with their transfer (arrears_transfer); a 确权 request remembers its reminder

Revision ID: 0019
Revises: 0018
"""
from alembic import op
import sqlalchemy as sa
import services.db.base

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('arrears_transfer',
    sa.Column('case_id', _Id, nullable=False),
    sa.Column('transfer_from', sa.String(length=200), nullable=False),
    sa.Column('document_no', sa.String(length=120), nullable=False),
    sa.Column('complaint_accepted_on', sa.Date(), nullable=False),
    sa.Column('transferred_on', sa.Date(), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('recorded_at', services.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['arrears_case.id'], name=op.f('fk_arrears_transfer_case_id_arrears_case')),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_arrears_transfer'))
    )
    with op.batch_alter_table('arrears_confirmation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminded_at', services.db.base.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('arrears_confirmation', schema=None) as batch_op:
        batch_op.drop_column('reminded_at')
    op.drop_table('arrears_transfer')
