"""sessions: server-side session records, failed sign-in counters, API token expiry (issue 12)

Existing tokens get an expiry 90 days (the default of api_token_days) after this migration runs.

Revision ID: 0018
Revises: 0017
"""
from datetime import UTC, datetime, timedelta

from alembic import op
import sqlalchemy as sa
import services.db.base

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('user_session',
    sa.Column('id', _Id, nullable=False),
    sa.Column('user_id', _Id, nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('csrf', sa.String(length=64), nullable=False),
    sa.Column('created_at', services.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', services.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_user_session_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_session')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_user_session_token_sha256'))
    )
    op.create_index(op.f('ix_user_session_user_id'), 'user_session', ['user_id'], unique=False)
    op.create_table('login_throttle',
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_started_at', services.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('locked_until', services.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttle'))
    )
    op.add_column('api_token', sa.Column('expires_at', services.db.base.UTCDateTime(timezone=True), nullable=True))
    token = sa.table('api_token', sa.column('expires_at', services.db.base.UTCDateTime(timezone=True)))
    op.execute(token.update().values(expires_at=datetime.now(UTC) + timedelta(days=90)))
    with op.batch_alter_table('api_token') as batch:
        batch.alter_column('expires_at', existing_type=services.db.base.UTCDateTime(timezone=True),
                           nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('api_token') as batch:
        batch.drop_column('expires_at')
    op.drop_table('login_throttle')
    op.drop_index(op.f('ix_user_session_user_id'), table_name='user_session')
    op.drop_table('user_session')
