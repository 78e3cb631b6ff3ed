"""The daily audit flow: record the signed statement of the audit chain head (services.anchors).

The flow records today's statement (once per local day: a retried or duplicated run returns the
statement already recorded) and writes the statement and its signature to the flow run's log, so
a copy lives in Prefect's database too, outside smeflow's. `deployments(settings)` gives its
deployment, scheduled daily at ANCHOR_CRON in the settings time zone, for workflows/schedules.py.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING, Any

from prefect import Flow, flow, get_run_logger
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import EntrypointType, RunnerDeployment
from prefect.schedules import Cron, Schedule

from config.settings import Settings

if TYPE_CHECKING:
    from services.bootstrap import Services

__all__ = ["ANCHOR_CRON", "audit_anchor", "deployments", "record_statement"]

#: 23:50 local time: the statement of the day covers (nearly) all of that day's events.
ANCHOR_CRON = "50 23 * * *"
DEPLOYMENT_NAME = "smeflow"  # as workflows.schedules.DEPLOYMENT_NAME (not imported: schedules imports us)
RETRIES = 2
RETRY_DELAY_SECONDS = 30


def record_statement(services: Services, now: datetime) -> dict[str, str | int | bool]:
    """Record today's statement of the chain head in its own transaction; returns it as a dict."""
    from services import anchors

    with services.uow() as uow:
        st, created = anchors.record(uow.session, key=services.settings.audit_signing_key, now=now,
                                     timezone=services.settings.timezone)
        uow.commit()
    return {"created": created, "day": st.day.isoformat(), "seq": st.seq, "head_hash": st.head_hash,
            "statement": st.statement, "signature": st.signature, "key_id": st.key_id}


def _run() -> dict[str, str | int | bool]:
    from services.bootstrap import build

    services = build()
    try:
        return record_statement(services, services.clock.now())
    finally:
        services.db.dispose()


@flow(name="smeflow-audit-anchor", retries=RETRIES, retry_delay_seconds=RETRY_DELAY_SECONDS)
async def audit_anchor() -> dict[str, str | int | bool]:
    """Record today's signed statement of the audit chain head (`services.anchors.record`); idempotent per day."""
    result = await asyncio.to_thread(_run)
    get_run_logger().info("audit chain statement %s signature %s (key id %s)%s", result["statement"],
                          result["signature"], result["key_id"], "" if result["created"] else " (already recorded)")
    return result


def _deployment(fl: Flow[[], Any], schedule: Schedule, description: str) -> RunnerDeployment:
    deployment = fl.to_deployment(
        name=DEPLOYMENT_NAME, schedule=schedule, description=description, tags=["smeflow", "audit"],
        concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW),
        entrypoint_type=EntrypointType.MODULE_PATH, _sync=True)  # type: ignore[call-arg]  # async_dispatch
    assert isinstance(deployment, RunnerDeployment)
    return deployment


def deployments(settings: Settings) -> list[RunnerDeployment]:
    """The audit deployments with their schedules: the daily chain head statement."""
    return [_deployment(audit_anchor, Cron(ANCHOR_CRON, timezone=settings.timezone),
                        "Record the signed daily statement of the audit chain head.")]
