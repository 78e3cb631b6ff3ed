"""Audit chain anchors (signed daily statements of the chain head) and case archive records."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.db.base import Base, UTCDateTime

__all__ = ["AuditAnchor", "AuditVerification", "CaseArchive"]

# Same as services.db.models.Id (not imported from there: models.py imports this module at its end).
_Id = BigInteger().with_variant(Integer(), "sqlite")


class AuditAnchor(Base):
    """A signed statement of the chain head (hash and count) as of a time; one per local day.

    `statement` is the exact canonical JSON that was signed; `signature` its HMAC-SHA256 with the
    audit signing key, `key_id` a fingerprint naming which key (never the key itself).
    """

    __tablename__ = "audit_anchor"
    id: Mapped[int] = mapped_column(_Id, primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    key_id: Mapped[str] = mapped_column(String(16))
    statement: Mapped[str] = mapped_column(Text)
    signature: Mapped[str] = mapped_column(String(64))


class CaseArchive(Base):
    """A closed case moved out of the live tables into an evidence bundle under <data_dir>/archive.

    The audit events stay in the chain; this row names the bundle file and its SHA-256, so the
    archived case can still be replayed and its bundle checked against the chain.
    """

    __tablename__ = "case_archive"
    id: Mapped[int] = mapped_column(_Id, primary_key=True)
    application_id: Mapped[int] = mapped_column(Integer, unique=True)
    instance_id: Mapped[int] = mapped_column(Integer)
    definition_hash: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(Text)  # relative to the data directory
    sha256: Mapped[str] = mapped_column(String(64))
    first_seq: Mapped[int] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    events: Mapped[int] = mapped_column(Integer)
    archived_at: Mapped[datetime] = mapped_column(UTCDateTime)
    archived_by: Mapped[str] = mapped_column(String(80))


class AuditVerification(Base):
    """The result of a full walk of the audit chain (`smeflow audit verify`, the daily audit flow, or
    an auditor asking for one): the pages show the latest and check only the events after it."""

    __tablename__ = "audit_verification"
    id: Mapped[int] = mapped_column(_Id, primary_key=True)
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    checked: Mapped[int] = mapped_column(BigInteger)  # events found intact from the first
    head_hash: Mapped[str] = mapped_column(String(64))  # hash of the last of them
    ok: Mapped[bool] = mapped_column(Boolean)
    broken_at: Mapped[int | None] = mapped_column(BigInteger)
    reason: Mapped[str | None] = mapped_column(Text)
