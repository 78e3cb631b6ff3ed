"""Tables of the yearly round: stored policy edition revisions, the fund lines a payout drew from,
and the demo clock.

A policy edition file loaded at run time is kept verbatim with its SHA-256; a revision row is never
updated (a correction is a new revision). ``policy_edition`` and ``award_type`` (models.py) mirror the
latest revision of each edition for the foreign keys; an application records the revision it ran under.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.db.base import Base, UTCDateTime

__all__ = ["DemoClockRow", "FundDraw", "PolicyRevision"]

# Same as services.db.models.Id (not imported from there: models.py imports this module at its end).
_Id = BigInteger().with_variant(Integer(), "sqlite")


class PolicyRevision(Base):
    """One loaded edition file, verbatim: immutable once stored."""

    __tablename__ = "policy_revision"
    __table_args__ = (UniqueConstraint("edition_code", "revision"),)
    id: Mapped[int] = mapped_column(_Id, primary_key=True)
    edition_code: Mapped[str] = mapped_column(String(40), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(Text)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    loaded_by: Mapped[str] = mapped_column(String(80))


class FundDraw(Base):
    """The part of a payout drawn from one fund line (the city's fund, a district's matching fund)."""

    __tablename__ = "fund_draw"
    __table_args__ = (UniqueConstraint("payout_id", "fund_id"),)
    id: Mapped[int] = mapped_column(_Id, primary_key=True)
    payout_id: Mapped[int] = mapped_column(ForeignKey("payout.id"), index=True)
    fund_id: Mapped[int] = mapped_column(ForeignKey("fund.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)


class DemoClockRow(Base):
    """The demo's own clock: ``demo_at`` was the demo time at the wall-clock moment ``set_at``;
    the demo time runs on from there. One row (id 1), present only once `smeflow demo` has run."""

    __tablename__ = "demo_clock"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    demo_at: Mapped[datetime] = mapped_column(UTCDateTime)
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)
    set_by: Mapped[str] = mapped_column(String(80))
