"""Printing for `smeflow audit`: a replay step by step, one step's state, a bundle check."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import typer

from services.audit.bundles import BundleReport
from services.audit.replay_views import Difference, ReplayResult, ReplayStep
from services.bootstrap import Services


def _local(services: Services, when: datetime) -> str:
    return when.astimezone(ZoneInfo(services.settings.timezone)).strftime("%Y-%m-%d %H:%M")


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _what(step: ReplayStep) -> str:
    if step.kind == "task.complete":
        data = step.recorded.get("data")
        decision = data.get("decision") if isinstance(data, dict) else None
        return f"complete {step.task}" + (f" ({decision})" if decision else "")
    if step.kind == "timer.fire":
        return "timer " + ", ".join(map(str, step.recorded.get("timers", [])))
    return step.kind


def print_difference(d: Difference) -> None:
    typer.echo(f"  what:     {d.what}")
    typer.echo(f"  recorded: {_value(d.recorded)}")
    typer.echo(f"  replayed: {_value(d.replayed)}")


def print_replay(services: Services, result: ReplayResult) -> None:
    """The replay as one line per step, then the verdict with both sides of the first difference."""
    typer.echo(f"case {result.application_id} (instance {result.instance_id}), diagram {result.process_id} "
               f"{(result.definition_hash or '')[:12]}, {len(result.steps)} steps, from the {result.source}")
    for s in result.steps:
        open_tasks = ", ".join(t.spec for t in s.open_tasks) or (s.outcome or "-")
        mark = "" if s.changes_state else "   (annotates)"
        typer.echo(f"{s.index:>3}  {_local(services, s.at)}  event {s.seq:<6} {s.actor:<18} {_what(s):<40} "
                   f"→ {open_tasks}{mark}")
    typer.echo(f"verdict: {result.verdict}")
    if result.first is not None:
        print_difference(result.first)
        if len(result.differences) > 1:
            typer.echo(f"  ({len(result.differences) - 1} further differences; --json lists them all)")


def print_step(services: Services, result: ReplayResult, n: int) -> None:
    """The state of the case after step `n`: open tasks, timers, data, changes, path."""
    s = result.step(n)
    typer.echo(f"case {result.application_id}, step {s.index} of {len(result.steps)}: event {s.seq}, "
               f"{_local(services, s.at)}, {s.actor}, {_what(s)}")
    typer.echo("open tasks: " + (", ".join(f"{t.name} ({t.spec}, {t.lane})" for t in s.open_tasks) or "none"))
    for t in s.timers:
        typer.echo(f"timer: {t.spec} due {_local(services, t.due_at)}" + (f" on {t.attached_to}" if t.attached_to
                                                                            else ""))
    if s.outcome:
        typer.echo(f"finished: {s.outcome}")
    typer.echo("changed: " + ("; ".join(f"{c.field}: {_value(c.before)} → {_value(c.after)}" for c in s.changes)
                              or "nothing"))
    typer.echo("data: " + _value(s.data))
    typer.echo("path: " + " → ".join(s.path))
    typer.echo("this step passed: " + (", ".join(s.passed) or "-"))
    here = [d for d in result.differences if d.step == n]
    for d in here:
        typer.echo(f"difference: {d.message}")
        print_difference(d)
    typer.echo(f"verdict for the whole case: {result.verdict}")


def print_bundle_report(report: BundleReport) -> None:
    for note in report.notes:
        typer.echo(f"note: {note}")
    if report.replay is not None:
        typer.echo(f"replay of case {report.application_id}: {report.replay.verdict} "
                   f"({len(report.replay.steps)} steps)")
        if report.replay.first is not None:
            print_difference(report.replay.first)
    if report.ok:
        signed = "signature verified" if report.signature_checked else "signature not checked"
        typer.echo(f"{report.message} ({signed})")
