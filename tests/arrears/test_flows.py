"""The campaign's flows: their deployments carry the schedules of config/arrears.toml, and each flow
body wires the service from the environment and returns a JSON-able summary. (Real flow runs under a
Prefect server are exercised for the sweep in tests/workflows; the bodies here are the same calls.)"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from config.settings import Settings, get_settings
from services.arrears.rules import load_rules
from services.bootstrap import Services
from tests.arrears.conftest import SHANGHAI, Campaign, build_campaign
from workflows import arrears_flows
from workflows.flows import run_service, summarise


@pytest.fixture
def env(services_env: Services) -> Campaign:
    return build_campaign(services_env)


def test_deployments_carry_the_campaign_schedules() -> None:
    deployments = arrears_flows.deployments(Settings(environment="test"))
    names = [d.flow_name for d in deployments]
    assert names == ["smeflow-arrears-sweep", "smeflow-arrears-reminders", "smeflow-arrears-monthly",
                     "smeflow-arrears-disclosure"]
    rules = load_rules()
    sweep, reminders, monthly, disclosure = (d.schedules[0].schedule for d in deployments)
    assert disclosure.cron == "0 9 * * *"  # type: ignore[union-attr]
    assert sweep.interval == timedelta(seconds=rules.sweep_interval_seconds)  # type: ignore[union-attr]
    assert reminders.cron == rules.reminders_cron and monthly.cron == rules.monthly_report_cron  # type: ignore[union-attr]
    assert all(d.entrypoint and d.entrypoint.startswith("workflows.arrears_flows.") for d in deployments)


def test_flow_bodies_run_against_the_configured_database(env: Campaign, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bodies the flows run, at instants set with SMEFLOW_CLOCK (real flow runs of each are in
    tests/workflows). The case's handling step opens on Tuesday 2025-07-01 09:00: a written result
    within 30 days (calendar days): due at the end of Thursday 2025-07-31."""
    env.at(datetime(2025, 7, 1, 9, 0))
    cid = env.register()
    env.to_handling(cid)
    assert env.open_steps(cid)["handle"].due_at == datetime(2025, 8, 1, tzinfo=SHANGHAI)

    def body(call: object, instant: str) -> dict[str, int | bool]:
        monkeypatch.setenv("SMEFLOW_CLOCK", instant)
        get_settings.cache_clear()
        summary = summarise(run_service(call))  # type: ignore[arg-type]
        json.dumps(summary)
        return summary

    assert body(arrears_flows._sweep, "2025-07-31T23:59+08:00")["fired"] == 0
    assert body(arrears_flows._sweep, "2025-08-01T00:01+08:00") == {
        "due_cases": 1, "fired": 1, "skipped": 0, "marked_overdue": 0}
    assert body(arrears_flows._sweep, "2025-08-01T00:02+08:00")["fired"] == 0  # once only
    # Friday: the handler and the department head of 东湖区 each get the overdue step in their digest
    assert body(arrears_flows._remind, "2025-08-01T09:00+08:00") == {"working_day": True, "digests": 2,
                                                                     "escalated": 0, "confirmations": 0}
    assert body(arrears_flows._remind, "2025-08-02T09:00+08:00") == {"working_day": False, "digests": 0,
                                                                     "escalated": 0,
                                                                     "confirmations": 0}  # Saturday
    # Friday 2025-08-01 is August's first working day: July's report, once; Monday 4 is not
    assert body(arrears_flows._monthly, "2025-08-01T10:00+08:00") == {"ran": True, "mailed": True}
    assert body(arrears_flows._monthly, "2025-08-04T10:00+08:00") == {"ran": False, "mailed": False}
