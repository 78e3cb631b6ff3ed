"""The mail outbox: notification mail stored in the transaction that causes it, sent afterwards.

A row is `pending` until a dispatcher claims it (`sending`), then `sent`, or back to `pending`
with a later `next_attempt_at`, or `failed` once its attempts are used up. While a row is
`sending`, `next_attempt_at` holds the end of the dispatcher's lease: a row still `sending`
after it belonged to a dispatcher that crashed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.db.base import Base, UTCDateTime

# Same as services.db.models.Id (not imported from there: models.py imports this module at its end).
Id = BigInteger().with_variant(Integer(), "sqlite")

MAIL_STATUSES = ("pending", "sending", "sent", "failed")


class OutboxMail(Base):
    """One notification mail, rendered when enqueued."""

    __tablename__ = "outbox_mail"
    __table_args__ = (
        Index("ix_outbox_mail_due", "status", "next_attempt_at"),
        CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed')", name="status"),
        CheckConstraint("attempts >= 0", name="attempts_nonneg"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recipients: Mapped[list[str]] = mapped_column(JSON)
    subject: Mapped[str] = mapped_column(Text)
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    template: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    application_id: Mapped[int | None] = mapped_column(Integer, index=True)
