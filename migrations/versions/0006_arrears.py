"""arrears: the arrears-clearance campaign (measure 10): debtors, handling-department officers, cases,
their steps and timers, repayment plans, repayments and ledger imports

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
import services.db.base

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('arrears_debtor',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('uscc', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('department_code', sa.String(length=40), nullable=False),
    sa.Column('created_at', services.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('government', 'institution', 'large_enterprise')", name=op.f('ck_arrears_debtor_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_arrears_debtor')),
    sa.UniqueConstraint('uscc', name=op.f('uq_arrears_debtor_uscc'))
    )
    with op.batch_alter_table('arrears_debtor', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_arrears_debtor_department_code'), ['department_code'], unique=False)

    op.create_table('arrears_import',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('imported_at', services.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('imported_by', sa.String(length=80), nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=False),
    sa.Column('rows_created', sa.Integer(), nullable=False),
    sa.Column('rows_existing', sa.Integer(), nullable=False),
    sa.Column('rows_rejected', sa.Integer(), nullable=False),
    sa.Column('partial', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_arrears_import'))
    )
    with op.batch_alter_table('arrears_import', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_arrears_import_sha256'), ['sha256'], unique=False)

    op.create_table('arrears_case',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('import_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('creditor_uscc', sa.String(length=18), nullable=False),
    sa.Column('creditor_name', sa.String(length=200), nullable=False),
    sa.Column('debtor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('department_code', sa.String(length=40), nullable=False),
    sa.Column('contract_no', sa.String(length=80), nullable=False),
    sa.Column('signed_on', sa.Date(), nullable=False),
    sa.Column('delivered_on', sa.Date(), nullable=False),
    sa.Column('accepted_on', sa.Date(), nullable=True),
    sa.Column('agreed_days', sa.Integer(), nullable=True),
    sa.Column('agreed_rate_ppm', sa.Integer(), nullable=True),
    sa.Column('rules', sa.String(length=8), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('claimed_fen', sa.BigInteger(), nullable=False),
    sa.Column('found_fen', sa.BigInteger(), nullable=True),
    sa.Column('confirmed_fen', sa.BigInteger(), nullable=True),
    sa.Column('disputed_fen', sa.BigInteger(), nullable=False),
    sa.Column('dispute_status', sa.String(length=20), nullable=True),
    sa.Column('repaid_fen', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('stage', sa.String(length=120), nullable=False),
    sa.Column('stage_name', sa.String(length=120), nullable=False),
    sa.Column('cooperation_level', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('registered_at', services.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('registered_by', sa.String(length=80), nullable=False),
    sa.Column('updated_at', services.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', services.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('claimed_fen > 0', name=op.f('ck_arrears_case_claimed_positive')),
    sa.CheckConstraint('repaid_fen >= 0', name=op.f('ck_arrears_case_repaid_nonneg')),
    sa.ForeignKeyConstraint(['debtor_id'], ['arrears_debtor.id'], name=op.f('fk_arrears_case_debtor_id_arrears_debtor')),
    sa.ForeignKeyConstraint(['import_id'], ['arrears_import.id'], name=op.f('fk_arrears_case_import_id_arrears_import')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_arrears_case_instance_id_process_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_arrears_case')),
    sa.UniqueConstraint('creditor_uscc', 'debtor_id', 'contract_no', name=op.f('uq_arrears_case_creditor_uscc_debtor_id_contract_no')),
    sa.UniqueConstraint('instance_id', name=op.f('uq_arrears_case_instance_id'))
    )
    with op.batch_alter_table('arrears_case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_arrears_case_debtor_id'), ['debtor_id'], unique=False)
        batch_op.create_index('ix_arrears_case_ledger', ['status', 'department_code'], unique=False)

    op.create_table('arrears_instalment',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_arrears_instalment_positive')),
    sa.ForeignKeyConstraint(['case_id'], ['arrears_case.id'], name=op.f('fk_arrears_instalment_case_id_arrears_case')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_arrears_instalment')),
    sa.UniqueConstraint('case_id', 'seq', name=op.f('uq_arrears_instalment_case_id_seq'))
    )
    with op.batch_alter_table('arrears_instalment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_arrears_instalment_case_id'), ['case_id'], unique=False)

    op.create_table('arrears_officer',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('department_code', sa.String(length=40), nullable=False),
    sa.Column('head', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_arrears_officer_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_arrears_officer')),
    sa.UniqueConstraint('user_id', 'department_code', name=op.f('uq_arrears_officer_user_id_department_code'))
    )
    with op.batch_alter_table('arrears_officer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_arrears_officer_department_code'), ['department_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_arrears_officer_user_id'), ['user_id'], unique=False)

    op.create_table('arrears_repayment',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('reference', sa.String(length=120), nullable=False),
    sa.Column('recorded_at', services.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.String(length=80), nullable=False),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_arrears_repayment_positive')),
    sa.ForeignKeyConstraint(['case_id'], ['arrears_case.id'], name=op.f('fk_arrears_repayment_case_id_arrears_case')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_arrears_repayment'))
    )
    with op.batch_alter_table('arrears_repayment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_arrears_repayment_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_arrears_repayment_paid_on'), ['paid_on'], unique=False)

    op.create_table('arrears_task',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('task_id', sa.String(length=36), nullable=True),
    sa.Column('task_spec', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('department_code', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', services.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', services.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('due_provisional', sa.Boolean(), nullable=False),
    sa.Column('overdue', sa.Boolean(), nullable=False),
    sa.Column('escalation_level', sa.Integer(), nullable=False),
    sa.Column('completed_at', services.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_by', sa.String(length=80), nullable=True),
    sa.Column('outcome', sa.String(length=40), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['arrears_case.id'], name=op.f('fk_arrears_task_case_id_arrears_case')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_arrears_task_instance_id_process_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_arrears_task')),
    sa.UniqueConstraint('instance_id', 'task_id', name=op.f('uq_arrears_task_instance_id_task_id'))
    )
    with op.batch_alter_table('arrears_task', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_arrears_task_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_arrears_task_inbox', ['status', 'role', 'department_code', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_arrears_task_instance_id'), ['instance_id'], unique=False)

    op.create_table('arrears_timer',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('task_id', sa.String(length=36), nullable=False),
    sa.Column('event_spec', sa.String(length=80), nullable=False),
    sa.Column('due_at', services.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['arrears_case.id'], name=op.f('fk_arrears_timer_case_id_arrears_case')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id'], name=op.f('fk_arrears_timer_instance_id_process_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_arrears_timer'))
    )
    with op.batch_alter_table('arrears_timer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_arrears_timer_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_arrears_timer_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_arrears_timer_instance_id'), ['instance_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('arrears_timer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_arrears_timer_instance_id'))
        batch_op.drop_index(batch_op.f('ix_arrears_timer_due_at'))
        batch_op.drop_index(batch_op.f('ix_arrears_timer_case_id'))

    op.drop_table('arrears_timer')
    with op.batch_alter_table('arrears_task', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_arrears_task_instance_id'))
        batch_op.drop_index('ix_arrears_task_inbox')
        batch_op.drop_index(batch_op.f('ix_arrears_task_case_id'))

    op.drop_table('arrears_task')
    with op.batch_alter_table('arrears_repayment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_arrears_repayment_paid_on'))
        batch_op.drop_index(batch_op.f('ix_arrears_repayment_case_id'))

    op.drop_table('arrears_repayment')
    with op.batch_alter_table('arrears_officer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_arrears_officer_user_id'))
        batch_op.drop_index(batch_op.f('ix_arrears_officer_department_code'))

    op.drop_table('arrears_officer')
    with op.batch_alter_table('arrears_instalment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_arrears_instalment_case_id'))

    op.drop_table('arrears_instalment')
    with op.batch_alter_table('arrears_case', schema=None) as batch_op:
        batch_op.drop_index('ix_arrears_case_ledger')
        batch_op.drop_index(batch_op.f('ix_arrears_case_debtor_id'))

    op.drop_table('arrears_case')
    with op.batch_alter_table('arrears_import', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_arrears_import_sha256'))

    op.drop_table('arrears_import')
    with op.batch_alter_table('arrears_debtor', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_arrears_debtor_department_code'))

    op.drop_table('arrears_debtor')
