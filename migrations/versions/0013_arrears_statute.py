"""arrears_statute: issue 14: the contract facts the statute needs (inspection period, settlement date,
the debtor's kind at signing, a special law's term) and the 团体组织 debtor kind

Revision ID: 0013
Revises: 0012

The revision numbers 0010-0016 were reserved in one chain so that the open issues could each add their
schema without two heads; a reserved revision that no change needed stays empty (a no-op).
"""
from alembic import op
import sqlalchemy as sa
import services.db.base

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('arrears_confirmation',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('creditor_uscc', sa.String(length=18), nullable=False),
    sa.Column('creditor_name', sa.String(length=200), nullable=False),
    sa.Column('debtor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('contract_no', sa.String(length=80), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('financing', sa.String(length=200), nullable=False),
    sa.Column('requested_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('due_provisional', sa.Boolean(), nullable=False),
    sa.Column('article', sa.String(length=200), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('confirmed_fen', sa.BigInteger(), nullable=True),
    sa.Column('answered_on', sa.Date(), nullable=True),
    sa.Column('answered_by', sa.String(length=80), nullable=True),
    sa.Column('created_at', services.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_arrears_confirmation_amount_positive')),
    sa.ForeignKeyConstraint(['debtor_id'], ['arrears_debtor.id'], name=op.f('fk_arrears_confirmation_debtor_id_arrears_debtor')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_arrears_confirmation'))
    )
    with op.batch_alter_table('arrears_confirmation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_arrears_confirmation_creditor_uscc'), ['creditor_uscc'], unique=False)
        batch_op.create_index(batch_op.f('ix_arrears_confirmation_debtor_id'), ['debtor_id'], unique=False)
    op.create_table('arrears_oversight',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('document_no', sa.String(length=120), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('acted_on', sa.Date(), nullable=False),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('created_at', services.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['arrears_case.id'], name=op.f('fk_arrears_oversight_case_id_arrears_case')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_arrears_oversight'))
    )
    with op.batch_alter_table('arrears_oversight', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_arrears_oversight_case_id'), ['case_id'], unique=False)
    with op.batch_alter_table('arrears_case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('inspection_due_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('settled_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('debtor_kind', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('special_term_days', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('special_term_basis', sa.String(length=200), nullable=True))
    # Cases registered before this revision: the registry's kind is the best record of the kind at signing.
    op.execute("UPDATE arrears_case SET debtor_kind = (SELECT kind FROM arrears_debtor "
               "WHERE arrears_debtor.id = arrears_case.debtor_id)")
    with op.batch_alter_table('arrears_case', schema=None) as batch_op:
        batch_op.alter_column('debtor_kind', existing_type=sa.String(length=20), nullable=False)
    with op.batch_alter_table('arrears_debtor', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_arrears_debtor_kind'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_arrears_debtor_kind'), "kind IN ('government', 'institution', 'large_enterprise', 'organisation')")


def downgrade() -> None:
    with op.batch_alter_table('arrears_confirmation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_arrears_confirmation_debtor_id'))
        batch_op.drop_index(batch_op.f('ix_arrears_confirmation_creditor_uscc'))
    op.drop_table('arrears_confirmation')
    with op.batch_alter_table('arrears_oversight', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_arrears_oversight_case_id'))
    op.drop_table('arrears_oversight')
    with op.batch_alter_table('arrears_debtor', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_arrears_debtor_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_arrears_debtor_kind'), "kind IN ('government', 'institution', 'large_enterprise')")
    with op.batch_alter_table('arrears_case', schema=None) as batch_op:
        batch_op.drop_column('special_term_basis')
        batch_op.drop_column('special_term_days')
        batch_op.drop_column('debtor_kind')
        batch_op.drop_column('settled_on')
        batch_op.drop_column('inspection_due_on')
