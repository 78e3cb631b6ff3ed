"""The enterprise pool: recognition batches (official lists imported as a whole), the source of each
imported honour, names that differ from the stored one (flagged for the district), and offers made
without an application (免申即享).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from services.db.base import Base, UTCDateTime

__all__ = ["EnterpriseNameFlag", "HonourSource", "Offer", "RecognitionBatch"]

# Same as services.db.models.Id (not imported from there: models.py imports this module at its end).
_Id = BigInteger().with_variant(Integer(), "sqlite")


class RecognitionBatch(Base):
    """One official recognition list imported (all of it, or its valid rows with --partial)."""

    __tablename__ = "recognition_batch"
    id: Mapped[int] = mapped_column(_Id, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(200))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    imported_by: Mapped[str] = mapped_column(String(80))
    rows_total: Mapped[int] = mapped_column(Integer)
    honours_created: Mapped[int] = mapped_column(Integer)
    honours_existing: Mapped[int] = mapped_column(Integer)
    rows_rejected: Mapped[int] = mapped_column(Integer)
    enterprises_created: Mapped[int] = mapped_column(Integer)
    names_flagged: Mapped[int] = mapped_column(Integer)
    partial: Mapped[bool] = mapped_column(Boolean, default=False)


class HonourSource(Base):
    """Where an imported honour came from: its batch and line, and its validity (有效期).
    The unique key makes each listed honour exist once, however often and concurrently it is imported."""

    __tablename__ = "honour_source"
    __table_args__ = (UniqueConstraint("enterprise_id", "honour_type", "level", "document_no"),)
    honour_id: Mapped[int] = mapped_column(ForeignKey("honour.id"), primary_key=True, autoincrement=False)
    batch_id: Mapped[int] = mapped_column(ForeignKey("recognition_batch.id"), index=True)
    line: Mapped[int] = mapped_column(Integer)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    honour_type: Mapped[str] = mapped_column(String(40))
    level: Mapped[str] = mapped_column(String(20))
    document_no: Mapped[str] = mapped_column(String(120))
    valid_until: Mapped[date | None] = mapped_column(Date)


class EnterpriseNameFlag(Base):
    """A list named a known enterprise (same credit code) differently: the stored name is kept and the
    difference is shown to the enterprise's district to check."""

    __tablename__ = "enterprise_name_flag"
    __table_args__ = (UniqueConstraint("enterprise_id", "listed_name"),)
    id: Mapped[int] = mapped_column(_Id, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("recognition_batch.id"))
    line: Mapped[int] = mapped_column(Integer)
    listed_name: Mapped[str] = mapped_column(String(200))
    stored_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Offer(Base):
    """An award offered without an application (免申即享): the case runs on the award route from its
    first step, where the enterprise confirms. Its state is the application's (offered, confirmed,
    lapsed, declined, and on to paid or rejected). One offer per call, enterprise and measure."""

    __tablename__ = "offer"
    __table_args__ = (UniqueConstraint("call_id", "enterprise_id", "measure"),)
    id: Mapped[int] = mapped_column(_Id, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    measure: Mapped[int] = mapped_column(Integer)
    award_type_code: Mapped[str] = mapped_column(ForeignKey("award_type.code"))
    honour_id: Mapped[int] = mapped_column(ForeignKey("honour.id"))
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), unique=True)
    review_unit_code: Mapped[str] = mapped_column(String(40), index=True)
    cap_fen: Mapped[int] = mapped_column(BigInteger)  # the most this offer can pay (less any lower award paid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claim_code_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    claim_code_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(80))
