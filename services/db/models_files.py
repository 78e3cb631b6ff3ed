"""Uploaded supporting documents of an application.

The file itself lives on disk, content-addressed under ``<data_dir>/files/<sha256[:2]>/<sha256>``;
this row records who uploaded what for which application, and the hash that names the content.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from services.db.base import Base, UTCDateTime

__all__ = ["Document"]

# Same as services.db.models.Id (not imported from there: models.py imports this module at its end).
_Id = BigInteger().with_variant(Integer(), "sqlite")


class Document(Base):
    """One supporting file of an application (PDF, JPEG or PNG, recognised by content)."""

    __tablename__ = "document"
    id: Mapped[int] = mapped_column(_Id, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    uploaded_by: Mapped[str] = mapped_column(String(80))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
