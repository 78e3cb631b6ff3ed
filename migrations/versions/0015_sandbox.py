"""sandbox: reserved for issue 11 (recorded simulations)

Revision ID: 0015
Revises: 0014

The revision numbers 0010-0016 were reserved in one chain so that the open issues could each add their
schema without two heads; a reserved revision that no change needed stays empty (a no-op).
"""
from alembic import op
import sqlalchemy as sa
import services.db.base

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
