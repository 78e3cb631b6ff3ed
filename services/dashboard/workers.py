"""Whether the scheduled flows are being run: each `smeflow worker` reports its state (starting,
serving, failed with the reason, stopped) and beats every `worker_heartbeat_seconds` while it serves;
the dashboard reads the rows back. Wall-clock time on both sides (not the demo clock): a heartbeat
says whether a process is alive now.

A worker that fails to start (its Prefect server's port taken, say) leaves a `failed` row with the
reason; one that died without a word stops beating and is shown as silent after three missed beats.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.db.models_worker import WorkerStatus

__all__ = ["Heartbeat", "WorkerHealth", "WorkerView", "record_state", "worker_health"]

STATES = {"starting": "正在启动", "serving": "运行中", "failed": "启动失败", "stopped": "已停止"}
SHOWN_FOR = timedelta(days=1)  # rows older than this are left off the dashboard
MISSED_BEATS = 3


def _utcnow() -> datetime:
    return datetime.now(UTC)


def record_state(session_factory: Callable[[], Session], *, name: str, state: str, detail: str | None = None,
                 now: datetime | None = None) -> None:
    """Write this worker's state in its own short transaction (insert or update its row)."""
    at = now or _utcnow()
    host, _, pid = name.rpartition(":")
    with session_factory() as session:
        row = session.get(WorkerStatus, name)
        if row is None:
            row = WorkerStatus(name=name, host=host[:120], pid=int(pid or 0), state=state, started_at=at, seen_at=at)
            session.add(row)
        row.state, row.detail, row.seen_at = state, (detail or None) and detail[:2000], at
        session.commit()


class Heartbeat:
    """A daemon thread that marks the worker `serving` now and every `seconds` after, until stopped."""

    def __init__(self, session_factory: Callable[[], Session], seconds: float, name: str | None = None) -> None:
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self._factory, self._seconds = session_factory, seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="smeflow-heartbeat", daemon=True)

    def state(self, state: str, detail: str | None = None) -> None:
        record_state(self._factory, name=self.name, state=state, detail=detail)

    def start(self) -> None:
        self.state("serving")
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._seconds):
            try:
                self.state("serving")
            except Exception:  # a database hiccup must not stop the worker: the next beat retries
                continue

    def stop(self, state: str = "stopped", detail: str | None = None) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self.state(state, detail)


@dataclass(frozen=True)
class WorkerView:
    name: str
    host: str
    pid: int
    state: str
    state_zh: str
    detail: str | None
    started_at: datetime
    seen_at: datetime
    seconds_ago: int
    alive: bool  # serving and beating


@dataclass(frozen=True)
class WorkerHealth:
    workers: list[WorkerView]

    @property
    def ok(self) -> bool:
        """At least one worker serves and beats."""
        return any(w.alive for w in self.workers)

    @property
    def summary(self) -> str:
        if self.ok:
            n = sum(w.alive for w in self.workers)
            return f"后台任务正常：{n} 个进程运行中（截止期限检查、提醒、邮件发送按计划执行）"
        newest = self.workers[0] if self.workers else None
        if newest is None:
            return ("后台任务未运行：没有后台任务进程报到过（smeflow worker 未启动）。"
                    "截止期限检查、提醒和邮件发送都不会执行")
        if newest.state == "failed":
            return "后台任务未运行：最近一次启动失败（原因见下表）。截止期限检查、提醒和邮件发送都不会执行"
        return "后台任务未运行：进程已停止或失去响应。截止期限检查、提醒和邮件发送都不会执行"


def worker_health(session: Session, *, heartbeat_seconds: int, now: datetime | None = None) -> WorkerHealth:
    """The workers seen in the last day, newest first, with whether each is alive."""
    at = now or _utcnow()
    rows = session.scalars(select(WorkerStatus).where(WorkerStatus.seen_at >= at - SHOWN_FOR)
                           .order_by(WorkerStatus.seen_at.desc()).limit(20))
    silent_after = timedelta(seconds=heartbeat_seconds * MISSED_BEATS)
    views = []
    for r in rows:
        alive = r.state == "serving" and at - r.seen_at <= silent_after
        label = "失去响应" if r.state == "serving" and not alive else STATES.get(r.state, r.state)
        views.append(WorkerView(r.name, r.host, r.pid, r.state, label, r.detail, r.started_at, r.seen_at,
                                max(0, int((at - r.seen_at).total_seconds())), alive))
    return WorkerHealth(views)
