"""The workers' heartbeat: one row per `smeflow worker` process, so the dashboard can tell whether
the scheduled flows (deadline sweep, reminders, mail outbox) are being run at all."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.db.base import Base, UTCDateTime

__all__ = ["WorkerStatus"]


class WorkerStatus(Base):
    """A worker process as it last reported itself (state and heartbeat)."""

    __tablename__ = "worker_status"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)  # host:pid
    host: Mapped[str] = mapped_column(String(120))
    pid: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20))  # starting | serving | failed | stopped
    detail: Mapped[str | None] = mapped_column(Text)  # why it failed (the worker's own message)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
