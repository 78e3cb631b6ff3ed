"""state_compression: issue 15: on PostgreSQL the workflow state (process_instance.state, about 35 KB
of JSON rewritten by every step) is compressed by the server with lz4 instead of the default pglz,
where the server has lz4 (PostgreSQL 14 and later, built with it; Debian's is): a step's UPDATE of
the state took 0.77-0.80 ms with pglz and 0.48-0.52 ms with lz4 on the benchmark machine. Values
already stored keep their compression until their case's next step rewrites them. On SQLite nothing
changes here (the state is packed by the client there: services.db.base.PackedBytes).

Revision ID: 0020
Revises: 0019
"""
from alembic import op
import sqlalchemy as sa

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def _lz4_available() -> bool:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    methods = bind.execute(sa.text(
        "SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")).scalar()
    return bool(methods) and "lz4" in methods


def upgrade() -> None:
    if _lz4_available():
        op.execute("ALTER TABLE process_instance ALTER COLUMN state SET COMPRESSION lz4")


def downgrade() -> None:
    if _lz4_available():
        op.execute("ALTER TABLE process_instance ALTER COLUMN state SET COMPRESSION default")
