"""Recorded policy simulations (政策沙盘): who priced which draft, when, against what, with the figures."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.db.base import Base, UTCDateTime

__all__ = ["PolicySimulation"]

# Same as services.db.models.Id (not imported from there: models.py imports this module at its end).
_Id = BigInteger().with_variant(Integer(), "sqlite")


class PolicySimulation(Base):
    """One simulation, written after it ran, in its own short transaction; never updated."""

    __tablename__ = "policy_simulation"
    id: Mapped[int] = mapped_column(_Id, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(80))
    draft_code: Mapped[str] = mapped_column(String(40))
    draft_sha256: Mapped[str] = mapped_column(String(64), index=True)
    draft_source: Mapped[str] = mapped_column(String(200))
    against_code: Mapped[str] = mapped_column(String(40))
    as_of: Mapped[date] = mapped_column(Date)
    take_up: Mapped[str] = mapped_column(String(20))  # "observed" or the fixed rate
    figures: Mapped[str] = mapped_column(Text)  # the SimulationResult as JSON
