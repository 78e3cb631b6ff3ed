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
    with op.batch_alter_table('arrears_debtor', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_arrears_debtor_kind'), type_='check')
        batch_op.create_check_constraint(op.f('ck_arrears_debtor_kind'), "kind IN ('government', 'institution', 'large_enterprise')")
    with op.batch_alter_table('arrears_case', schema=None) as batch_op:
        batch_op.drop_column('special_term_basis')
        batch_op.drop_column('special_term_days')
        batch_op.drop_column('debtor_kind')
        batch_op.drop_column('settled_on')
        batch_op.drop_column('inspection_due_on')
