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
import importlib
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from prefect import Flow, flow, get_run_logger
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import EntrypointType, RunnerDeployment
from prefect.schedules import Schedule

if TYPE_CHECKING:
    from services.bootstrap import Services

__all__ = ["DEPLOYMENT_NAME", "FLOWS", "RETRIES", "RETRY_DELAY_SECONDS", "daily_reminders", "deadline_sweep",
           "deferred", "mail_outbox", "make_deployment", "run_in_thread", "run_service", "summarise"]

RETRIES = 2
RETRY_DELAY_SECONDS = 30
#: The deployment name of every flow (Prefect names a deployment `<flow name>/<deployment name>`).
DEPLOYMENT_NAME = "smeflow"

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


def run_service(call: Callable[[Services, datetime], Any]) -> Any:
    """Wire the service from the environment, call `call(services, now)` and dispose the database."""
    from services.bootstrap import build

    services = build()
    try:
        return call(services, services.clock.now())
    finally:
        services.db.dispose()


async def run_in_thread(call: ServiceCall) -> dict[str, int | bool]:
    """`run_service(call)` in a worker thread; its report summarised and logged."""
    summary = await asyncio.to_thread(lambda: summarise(run_service(call)))
    get_run_logger().info("%s", summary)
    return summary


def make_deployment(fl: Flow[[], Any], schedule: Schedule, description: str, *tags: str) -> RunnerDeployment:
    """A flow's deployment: one run at a time (a run still going when the next is due makes the next
    one skip instead of queueing up), importable by module path wherever smeflow is installed."""
    deployment = fl.to_deployment(
        name=DEPLOYMENT_NAME, schedule=schedule, description=description, tags=["smeflow", *tags],
        concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW),
        entrypoint_type=EntrypointType.MODULE_PATH, _sync=True)  # type: ignore[call-arg]  # async_dispatch
    assert isinstance(deployment, RunnerDeployment)
    return deployment


def deferred(module: str, name: str) -> ServiceCall:
    """The service call `module.name(services, now)`, imported when it runs (not when this is imported)."""

    def call(services: Services, now: datetime) -> Any:
        return getattr(importlib.import_module(module), name)(services, now)

    call.__name__ = call.__qualname__ = name
    return call


_sweep = deferred("services.awards.deadlines", "sweep")
_reminders = deferred("services.awards.reminders", "run_reminders")
_outbox = deferred("services.mail.outbox", "send_pending")


@flow(name="smeflow-deadline-sweep", retries=RETRIES, retry_delay_seconds=RETRY_DELAY_SECONDS)
async def deadline_sweep() -> dict[str, int | bool]:
    """Fire every BPMN timer that is due and escalate long-overdue work (`services.awards.deadlines.sweep`).

    Idempotent and transactional per case, so a retry or an overlapping run fires each timer once.
    """
    return await run_in_thread(_sweep)


@flow(name="smeflow-reminders", retries=RETRIES, retry_delay_seconds=RETRY_DELAY_SECONDS)
async def daily_reminders() -> dict[str, int | bool]:
    """Send the officers' reminder digest (`services.awards.reminders.run_reminders`); nothing on non-working days.

    Idempotent (each digest is deduplicated in the outbox), so a retry sends no digest twice.
    """
    return await run_in_thread(_reminders)


@flow(name="smeflow-outbox", retries=RETRIES, retry_delay_seconds=RETRY_DELAY_SECONDS)
async def mail_outbox() -> dict[str, int | bool]:
    """Send the pending mail of the outbox (`services.mail.outbox.send_pending`) until none is due.

    Each mail is claimed in its own transaction before it is sent, so a retry or an overlapping run
    does not send it again.
    """
    return await run_in_thread(_outbox)


FLOWS = (deadline_sweep, daily_reminders, mail_outbox)
