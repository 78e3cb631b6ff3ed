"""pool: the enterprise pool (recognition batches, each imported honour's source, names flagged for
the district) and offers made without an application (免申即享)

Revision ID: 0016
Revises: 0015
"""
from alembic import op
import sqlalchemy as sa
import services.db.base

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('recognition_batch',
    sa.Column('id', _Id, nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('imported_at', services.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('imported_by', sa.String(length=80), nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=False),
    sa.Column('honours_created', sa.Integer(), nullable=False),
    sa.Column('honours_existing', sa.Integer(), nullable=False),
    sa.Column('rows_rejected', sa.Integer(), nullable=False),
    sa.Column('enterprises_created', sa.Integer(), nullable=False),
    sa.Column('names_flagged', sa.Integer(), nullable=False),
    sa.Column('partial', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recognition_batch')),
    sa.UniqueConstraint('sha256', name=op.f('uq_recognition_batch_sha256'))
    )
    op.create_table('honour_source',
    sa.Column('honour_id', _Id, nullable=False),
    sa.Column('batch_id', _Id, nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', _Id, nullable=False),
    sa.Column('honour_type', sa.String(length=40), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('document_no', sa.String(length=120), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['recognition_batch.id'], name=op.f('fk_honour_source_batch_id_recognition_batch')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_honour_source_enterprise_id_enterprise')),
    sa.ForeignKeyConstraint(['honour_id'], ['honour.id'], name=op.f('fk_honour_source_honour_id_honour')),
    sa.PrimaryKeyConstraint('honour_id', name=op.f('pk_honour_source')),
    sa.UniqueConstraint('enterprise_id', 'honour_type', 'level', 'document_no', name=op.f('uq_honour_source_enterprise_id_honour_type_level_document_no'))
    )
    with op.batch_alter_table('honour_source', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_honour_source_batch_id'), ['batch_id'], unique=False)
    op.create_table('enterprise_name_flag',
    sa.Column('id', _Id, nullable=False),
    sa.Column('enterprise_id', _Id, nullable=False),
    sa.Column('batch_id', _Id, nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('listed_name', sa.String(length=200), nullable=False),
    sa.Column('stored_name', sa.String(length=200), nullable=False),
    sa.Column('created_at', services.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['recognition_batch.id'], name=op.f('fk_enterprise_name_flag_batch_id_recognition_batch')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_enterprise_name_flag_enterprise_id_enterprise')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enterprise_name_flag')),
    sa.UniqueConstraint('enterprise_id', 'listed_name', name=op.f('uq_enterprise_name_flag_enterprise_id_listed_name'))
    )
    with op.batch_alter_table('enterprise_name_flag', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enterprise_name_flag_enterprise_id'), ['enterprise_id'], unique=False)
    op.create_table('offer',
    sa.Column('id', _Id, nullable=False),
    sa.Column('call_id', _Id, nullable=False),
    sa.Column('enterprise_id', _Id, nullable=False),
    sa.Column('measure', sa.Integer(), nullable=False),
    sa.Column('award_type_code', sa.String(length=60), nullable=False),
    sa.Column('honour_id', _Id, nullable=False),
    sa.Column('application_id', _Id, nullable=False),
    sa.Column('review_unit_code', sa.String(length=40), nullable=False),
    sa.Column('cap_fen', sa.BigInteger(), nullable=False),
    sa.Column('created_at', services.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reminded_at', services.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('claim_code_sha256', sa.String(length=64), nullable=True),
    sa.Column('claim_code_issued_at', services.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('claimed_at', services.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=80), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['application.id'], name=op.f('fk_offer_application_id_application')),
    sa.ForeignKeyConstraint(['award_type_code'], ['award_type.code'], name=op.f('fk_offer_award_type_code_award_type')),
    sa.ForeignKeyConstraint(['call_id'], ['call.id'], name=op.f('fk_offer_call_id_call')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise.id'], name=op.f('fk_offer_enterprise_id_enterprise')),
    sa.ForeignKeyConstraint(['honour_id'], ['honour.id'], name=op.f('fk_offer_honour_id_honour')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_offer')),
    sa.UniqueConstraint('application_id', name=op.f('uq_offer_application_id')),
    sa.UniqueConstraint('call_id', 'enterprise_id', 'measure', name=op.f('uq_offer_call_id_enterprise_id_measure')),
    sa.UniqueConstraint('claim_code_sha256', name=op.f('uq_offer_claim_code_sha256'))
    )
    with op.batch_alter_table('offer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_offer_call_id'), ['call_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_offer_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_offer_review_unit_code'), ['review_unit_code'], unique=False)


def downgrade() -> None:
    op.drop_table('offer')
    op.drop_table('enterprise_name_flag')
    op.drop_table('honour_source')
    op.drop_table('recognition_batch')
