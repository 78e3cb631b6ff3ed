"""The deployments of the flows with their schedules, and `serve_all` that runs them.

Schedules come from the settings: the deadline sweep and the mail outbox every
`sweep_interval_seconds` / `outbox_interval_seconds`, the reminder digest on `reminders_cron`
in the settings time zone; and the daily signed statement of the audit chain head
(workflows.audit_flows, at its ANCHOR_CRON in the settings time zone), and the arrears
campaign's sweep, reminders, monthly report and disclosure reminder (workflows.arrears_flows, schedules in
config/arrears.toml). The worker serves them all (`all_deployments`). Schedules only run against
a real Prefect server (`prefect server start` or a shared one), not against Prefect's temporary
ephemeral API; `app.worker` sees to that.
"""

from __future__ import annotations

from datetime import timedelta

from prefect import deploy, serve
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron, Interval

from config.settings import Settings
from workflows import arrears_flows, audit_flows
from workflows.flows import DEPLOYMENT_NAME, daily_reminders, deadline_sweep, mail_outbox, make_deployment

__all__ = ["DEPLOYMENT_NAME", "all_deployments", "deploy_to_pool", "deployments", "serve_all"]


def deployments(settings: Settings) -> list[RunnerDeployment]:
    """The three deployments (sweep, reminders, outbox) with the schedules of `settings`."""
    tz = settings.timezone
    return [
        make_deployment(deadline_sweep, Interval(timedelta(seconds=settings.sweep_interval_seconds), timezone=tz),
                        "Fire due BPMN timers and escalate overdue work."),
        make_deployment(daily_reminders, Cron(settings.reminders_cron, timezone=tz),
                        "The officers' reminder digest on working days."),
        make_deployment(mail_outbox, Interval(timedelta(seconds=settings.outbox_interval_seconds), timezone=tz),
                        "Send the pending mail of the outbox."),
    ]


def all_deployments(settings: Settings) -> list[RunnerDeployment]:
    """Everything the worker serves: `deployments`, the arrears campaign's (workflows.arrears_flows)
    and the audit deployments (workflows.audit_flows)."""
    return [*deployments(settings), *arrears_flows.deployments(settings), *audit_flows.deployments(settings)]


def serve_all(settings: Settings) -> None:
    """Serve the deployments until interrupted (Ctrl-C or SIGTERM).

    Schedules stay active when this process stops (`pause_on_shutdown=False`), so stopping one of
    several workers serving the same deployments does not pause them for the others; the server
    hands each scheduled run to exactly one of them.
    """
    serve(*all_deployments(settings), pause_on_shutdown=False)


def deploy_to_pool(settings: Settings, pool: str) -> None:
    """Register the deployments with work pool `pool` (scale-out with `prefect worker start`).

    The entrypoints are module paths (workflows.flows.<flow>), so a `process` pool's workers need
    smeflow installed and the SMEFLOW_* settings in their environment; no image or code storage.
    """
    deploy(*all_deployments(settings), work_pool_name=pool, print_next_steps_message=False, ignore_warnings=True)
