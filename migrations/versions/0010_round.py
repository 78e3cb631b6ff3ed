"""round: stored policy edition revisions, fund lines per budget year, fund draws, the demo clock

Revision ID: 0010
Revises: 0009

The revision numbers 0010-0016 were reserved in one chain so that the open issues could each add their
schema without two heads.
"""
from alembic import op
import sqlalchemy as sa
import services.db.base

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('policy_revision',
    sa.Column('id', _Id, nullable=False),
    sa.Column('edition_code', sa.String(length=40), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('loaded_at', services.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('loaded_by', sa.String(length=80), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_policy_revision')),
    sa.UniqueConstraint('edition_code', 'revision', name=op.f('uq_policy_revision_edition_code_revision')),
    sa.UniqueConstraint('sha256', name=op.f('uq_policy_revision_sha256'))
    )
    with op.batch_alter_table('policy_revision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_policy_revision_edition_code'), ['edition_code'], unique=False)
    op.create_table('fund_draw',
    sa.Column('id', _Id, nullable=False),
    sa.Column('payout_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('fund_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['fund_id'], ['fund.id'], name=op.f('fk_fund_draw_fund_id_fund')),
    sa.ForeignKeyConstraint(['payout_id'], ['payout.id'], name=op.f('fk_fund_draw_payout_id_payout')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fund_draw')),
    sa.UniqueConstraint('payout_id', 'fund_id', name=op.f('uq_fund_draw_payout_id_fund_id'))
    )
    with op.batch_alter_table('fund_draw', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_fund_draw_fund_id'), ['fund_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_fund_draw_payout_id'), ['payout_id'], unique=False)
    op.create_table('demo_clock',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('demo_at', services.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('set_at', services.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('set_by', sa.String(length=80), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_demo_clock'))
    )
    with op.batch_alter_table('fund', schema=None) as batch_op:
        batch_op.add_column(sa.Column('line', sa.String(length=40), nullable=False, server_default='city'))
        batch_op.create_unique_constraint(batch_op.f('uq_fund_year_line'), ['year', 'line'])
    with op.batch_alter_table('fund', schema=None) as batch_op:
        batch_op.alter_column('line', server_default=None)
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.add_column(sa.Column('policy_revision_id', _Id, nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_application_policy_revision_id_policy_revision'),
                                    'policy_revision', ['policy_revision_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('application', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_application_policy_revision_id_policy_revision'), type_='foreignkey')
        batch_op.drop_column('policy_revision_id')
    with op.batch_alter_table('fund', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_fund_year_line'), type_='unique')
        batch_op.drop_column('line')
    op.drop_table('demo_clock')
    with op.batch_alter_table('fund_draw', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_fund_draw_payout_id'))
        batch_op.drop_index(batch_op.f('ix_fund_draw_fund_id'))
    op.drop_table('fund_draw')
    with op.batch_alter_table('policy_revision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_policy_revision_edition_code'))
    op.drop_table('policy_revision')
