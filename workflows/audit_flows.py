"""The daily audit flow: record the signed statement of the audit chain head (services.audit.anchors), and
a full walk of the chain (services.audit.history_index.record_full_walk) for the auditor's pages.

The flow records today's statement (once per local day: a retried or duplicated run returns the
statement already recorded) and writes the statement and its signature to the flow run's log, so
a copy lives in Prefect's database too, outside smeflow's. `deployments(settings)` gives its
deployment, scheduled daily at ANCHOR_CRON in the settings time zone, for workflows/schedules.py.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING, Any

from prefect import flow, get_run_logger
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron

from config.settings import Settings
from workflows.flows import RETRIES, RETRY_DELAY_SECONDS, make_deployment, run_service

if TYPE_CHECKING:
    from services.bootstrap import Services

__all__ = ["ANCHOR_CRON", "audit_anchor", "deployments", "record_statement"]

#: 23:50 local time: the statement of the day covers (nearly) all of that day's events.
ANCHOR_CRON = "50 23 * * *"


def record_statement(services: Services, now: datetime) -> dict[str, str | int | bool]:
    """Record today's statement of the chain head in its own transaction; returns it as a dict."""
    from services.audit import anchors, history_index

    with services.uow() as uow:
        st, created = anchors.record(uow.session, key=services.settings.audit_key(), now=now,
                                     timezone=services.settings.timezone)
        uow.commit()
    with services.uow() as uow:  # and a full walk of the chain, which the auditor's pages rest on
        history_index.record_full_walk(uow.session, now)
        uow.commit()
    return {"created": created, "day": st.day.isoformat(), "seq": st.seq, "head_hash": st.head_hash,
            "statement": st.statement, "signature": st.signature, "key_id": st.key_id}


@flow(name="smeflow-audit-anchor", retries=RETRIES, retry_delay_seconds=RETRY_DELAY_SECONDS)
async def audit_anchor() -> dict[str, str | int | bool]:
    """Record today's signed statement of the audit chain head (`services.audit.anchors.record`); idempotent per day."""
    result: dict[str, Any] = await asyncio.to_thread(run_service, record_statement)
    get_run_logger().info("audit chain statement %s signature %s (key id %s)%s", result["statement"],
                          result["signature"], result["key_id"], "" if result["created"] else " (already recorded)")
    return result


def deployments(settings: Settings) -> list[RunnerDeployment]:
    """The audit deployments with their schedules: the daily chain head statement."""
    return [make_deployment(audit_anchor, Cron(ANCHOR_CRON, timezone=settings.timezone),
                            "Record the signed daily statement of the audit chain head.", "audit")]
