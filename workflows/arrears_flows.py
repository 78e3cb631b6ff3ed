"""The arrears campaign's scheduled flows, beside the deadline sweep: each a thin shell around one
idempotent service function of services.arrears (see workflows/flows.py for the pattern).

* smeflow-arrears-sweep: fires the due timers of arrears cases (deadlines, the debtor's
  non-cooperation steps) and marks late acceptance reviews (`services.arrears.sweep.sweep`);
* smeflow-arrears-reminders: the handling departments' digest before and after their deadlines and
  the 督办 mail to heads and managers (`services.arrears.campaign.remind`; working days only);
* smeflow-arrears-monthly: the previous month's ledger report and the managers' mail on the first
  working day of a month (`services.arrears.campaign.monthly`; checked every morning, runs once);
* smeflow-arrears-disclosure: before 3月31日, the reminder to publish the past year's overdue payments
  of public debtors (2025 第十八条) with their figures (`services.arrears.disclosure.remind_disclosure`;
  checked every morning, each reminder once).

`deployments(settings)` returns their deployments with the schedules of config/arrears.toml
[campaign]; the worker serves them beside the others (workflows/schedules.py).
"""

from __future__ import annotations

from datetime import timedelta

from prefect import flow
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron, Interval

from config.settings import Settings
from workflows.flows import RETRIES, RETRY_DELAY_SECONDS, deferred, make_deployment, run_in_thread

__all__ = ["ARREARS_FLOWS", "arrears_disclosure", "arrears_monthly", "arrears_reminders", "arrears_sweep",
           "deployments"]


_sweep = deferred("services.arrears.sweep", "sweep")
_remind = deferred("services.arrears.campaign", "remind")
_monthly = deferred("services.arrears.campaign", "monthly")
_disclosure = deferred("services.arrears.disclosure", "remind_disclosure")


@flow(name="smeflow-arrears-sweep", retries=RETRIES, retry_delay_seconds=RETRY_DELAY_SECONDS)
async def arrears_sweep() -> dict[str, int | bool]:
    """Fire the due timers of arrears cases; mark late acceptance reviews (idempotent, per case)."""
    return await run_in_thread(_sweep)


@flow(name="smeflow-arrears-reminders", retries=RETRIES, retry_delay_seconds=RETRY_DELAY_SECONDS)
async def arrears_reminders() -> dict[str, int | bool]:
    """The campaign's reminder digests and 督办 mails (each once; nothing on days off)."""
    return await run_in_thread(_remind)


@flow(name="smeflow-arrears-monthly", retries=RETRIES, retry_delay_seconds=RETRY_DELAY_SECONDS)
async def arrears_monthly() -> dict[str, int | bool]:
    """The previous month's ledger report and summary mail, on the first working day (once)."""
    return await run_in_thread(_monthly)


@flow(name="smeflow-arrears-disclosure", retries=RETRIES, retry_delay_seconds=RETRY_DELAY_SECONDS)
async def arrears_disclosure() -> dict[str, int | bool]:
    """The reminder of the annual disclosure of overdue payments, before 3月31日 (each reminder once)."""
    return await run_in_thread(_disclosure)


ARREARS_FLOWS = (arrears_sweep, arrears_reminders, arrears_monthly, arrears_disclosure)


def deployments(settings: Settings) -> list[RunnerDeployment]:
    """The campaign's four deployments, on the schedules of config/arrears.toml [campaign] and [disclosure]."""
    from services.arrears.rules import load_rules

    rules, tz = load_rules(), settings.timezone
    return [
        make_deployment(arrears_sweep, Interval(timedelta(seconds=rules.sweep_interval_seconds), timezone=tz),
                        "Fire due timers of arrears cases (deadlines, non-cooperation steps).", "arrears"),
        make_deployment(arrears_reminders, Cron(rules.reminders_cron, timezone=tz),
                        "Reminders to handling departments before and after their deadlines; 督办 mail.", "arrears"),
        make_deployment(arrears_monthly, Cron(rules.monthly_report_cron, timezone=tz),
                        "The monthly ledger report on the first working day of a month.", "arrears"),
        make_deployment(arrears_disclosure, Cron(rules.disclosure_cron, timezone=tz),
                        "Reminder to publish the past year's overdue payments before 3月31日.", "arrears"),
    ]
