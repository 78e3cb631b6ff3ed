"""The scheduled flows: few and coarse, each a thin shell around one service function.

Each run wires the service from the environment (`services.bootstrap.build()`, SMEFLOW_*), calls
the service function with the real clock, disposes the database engine and returns a small
JSON-able summary (the count of each field of the service's report). The services are imported
inside the flow bodies so that importing this module stays cheap and does not pull in the whole
service layer.

The flows are async and run the synchronous service call in a worker thread
(`asyncio.to_thread`): an async flow run costs about 0.2 s of Prefect overhead, a sync one about
1.1 s (measured under `prefect_test_harness`). Call them with `asyncio.run(deadline_sweep())`.

Retries are safe: every service function is idempotent and commits in its own transactions, so a
run that failed half-way and is retried fires no timer twice and sends no mail twice.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from prefect import flow, get_run_logger

if TYPE_CHECKING:
    from services.bootstrap import Services

__all__ = ["FLOWS", "RETRIES", "RETRY_DELAY_SECONDS", "daily_reminders", "deadline_sweep", "mail_outbox",
           "summarise"]

RETRIES = 2
RETRY_DELAY_SECONDS = 30

ServiceCall = Callable[["Services", datetime], Any]


def summarise(report: Any) -> dict[str, int | bool]:
    """A report as a small JSON-able dict: its `summary()` if it has one, else each field (lists counted)."""
    if hasattr(report, "summary"):
        return dict(report.summary())
    if not dataclasses.is_dataclass(report) or isinstance(report, type):
        raise TypeError(f"cannot summarise {type(report).__name__}: not a dataclass report")
    out: dict[str, int | bool] = {}
    for f in dataclasses.fields(report):
        value = getattr(report, f.name)
        out[f.name] = len(value) if isinstance(value, list | tuple | set | dict) else int(value)
    return out


def _run(call: ServiceCall) -> dict[str, int | bool]:
    """Wire the service from the environment, call `call(services, now)` and dispose the database."""
    from services.bootstrap import build

    services = build()
    try:
        return summarise(call(services, services.clock.now()))
    finally:
        services.db.dispose()


async def _run_in_thread(call: ServiceCall) -> dict[str, int | bool]:
    summary = await asyncio.to_thread(_run, call)
    get_run_logger().info("%s", summary)
    return summary


def _sweep(services: Services, now: datetime) -> Any:
    from services.deadlines import sweep

    return sweep(services, now)


def _reminders(services: Services, now: datetime) -> Any:
    from services.reminders import run_reminders

    return run_reminders(services, now)


def _outbox(services: Services, now: datetime) -> Any:
    from services.outbox import send_pending

    return send_pending(services, now)


@flow(name="smeflow-deadline-sweep", retries=RETRIES, retry_delay_seconds=RETRY_DELAY_SECONDS)
async def deadline_sweep() -> dict[str, int | bool]:
    """Fire every BPMN timer that is due and escalate long-overdue work (`services.deadlines.sweep`).

    Idempotent and transactional per case, so a retry or an overlapping run fires each timer once.
    """
    return await _run_in_thread(_sweep)


@flow(name="smeflow-reminders", retries=RETRIES, retry_delay_seconds=RETRY_DELAY_SECONDS)
async def daily_reminders() -> dict[str, int | bool]:
    """Send the officers' reminder digest (`services.reminders.run_reminders`); nothing on non-working days.

    Idempotent (each digest is deduplicated in the outbox), so a retry sends no digest twice.
    """
    return await _run_in_thread(_reminders)


@flow(name="smeflow-outbox", retries=RETRIES, retry_delay_seconds=RETRY_DELAY_SECONDS)
async def mail_outbox() -> dict[str, int | bool]:
    """Send the pending mail of the outbox (`services.outbox.send_pending`) until none is due.

    Each mail is claimed in its own transaction before it is sent, so a retry or an overlapping run
    does not send it again.
    """
    return await _run_in_thread(_outbox)


FLOWS = (deadline_sweep, daily_reminders, mail_outbox)
