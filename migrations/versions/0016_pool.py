"""pool: reserved for issue 10 (the enterprise pool, recognition batches, offers)

Revision ID: 0016
Revises: 0015

See 0010: the revisions 0010-0016 were reserved in one chain so that the open issues could each add
their schema without two heads; a reserved revision that no change needed stays empty (a no-op).
"""
from alembic import op
import sqlalchemy as sa
import services.db.base

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
