"""The campaign's flows: their deployments carry the schedules of config/arrears.toml, and each flow
body wires the service from the environment and returns a JSON-able summary. (Real flow runs under a
Prefect server are exercised for the sweep in tests/workflows; the bodies here are the same calls.)"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from config.settings import Settings
from services.arrears.rules import load_rules
from services.bootstrap import Services
from tests.arrears.conftest import Campaign, build_campaign
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


def test_flow_bodies_run_against_the_configured_database(env: Campaign) -> None:
    cid = env.register()
    env.to_handling(cid)  # registered on the 2024 test clock: by the real clock, long overdue
    summary = summarise(run_service(arrears_flows._sweep))
    json.dumps(summary)
    assert summary["fired"] >= 1, summary
    assert summarise(run_service(arrears_flows._sweep))["fired"] == 0  # once only
    reminders = summarise(run_service(arrears_flows._remind))
    assert set(reminders) == {"working_day", "digests", "escalated"}
    monthly = summarise(run_service(arrears_flows._monthly))
    assert set(monthly) == {"ran", "mailed"}
