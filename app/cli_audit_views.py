"""Printing for `smeflow audit`: a replay step by step, one step's state, a bundle check.

A person reads the diagram's names (区县初审), never its element ids; the ids, the raw data and every
difference in full stay in `--json`."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import typer

from app.cli_views import width
from services.accounts.users import NOT_PEOPLE
from services.audit.bundles import BundleReport
from services.audit.kinds import kind_label
from services.audit.replay_views import Difference, ReplayResult, ReplayStep
from services.awards import labels as award_labels
from services.bootstrap import Services
from services.engine.lanes import LANE_ROLES
from services.errors import field_label

SOURCES = {"database": "数据库", "archive": "归档证据包", "bundle": "证据包"}
LANES = {role: lane for lane, role in LANE_ROLES.items()}  # `district` → `区县`


def _local(services: Services, when: datetime) -> str:
    return when.astimezone(ZoneInfo(services.settings.timezone)).strftime("%Y-%m-%d %H:%M")


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def diagram_names(services: Services, result: ReplayResult) -> tuple[str, dict[str, str]]:
    """The diagram's process name and its named elements (id → name) for the hash the case ran on;
    ("", {}) when the diagram is not in the database."""
    from services.db.models import ProcessDefinition
    from services.engine.diagram_labels import diagram_nodes
    from services.engine.names import process_name

    if result.definition_hash is None:
        return "", {}
    with services.uow() as uow:
        row = uow.session.get(ProcessDefinition, result.definition_hash)
        if row is None:
            return "", {}
        names = {k: v for k, v in diagram_nodes(row.bpmn_xml).labels.items() if v != k}
        return process_name(row.bpmn_xml, row.process_id), names


def _actor(actor: str) -> str:
    return NOT_PEOPLE.get(actor, actor)


def _what(step: ReplayStep, names: dict[str, str]) -> str:
    if step.kind == "task.complete":
        data = step.recorded.get("data")
        decision = data.get("decision") if isinstance(data, dict) else None
        task = names.get(step.task or "", "环节")
        return f"办理“{task}”" + (f"：{award_labels.decision(str(decision))}" if decision else "")
    if step.kind == "timer.fire":
        timers = [names.get(str(t), "计时器") for t in step.recorded.get("timers", [])]
        return "期限届满：" + "、".join(timers) if timers else "期限届满"
    return kind_label(step.kind)


def _named(ids: tuple[str, ...], names: dict[str, str]) -> str:
    return " → ".join(names[i] for i in ids if i in names) or "—"


def print_difference(d: Difference) -> None:
    typer.echo(f"  不符之处：{d.what_label}")
    typer.echo(f"  记录：{_value(d.recorded)}")
    typer.echo(f"  回放：{_value(d.replayed)}")


def print_replay(services: Services, result: ReplayResult) -> None:
    """The replay as one line per step, then the verdict with both sides of the first difference."""
    process, names = diagram_names(services, result)
    typer.echo(f"案件 {result.application_id}（流程实例 {result.instance_id}），流程图 {process or '—'} "
               f"版本 {(result.definition_hash or '')[:12]}，共 {len(result.steps)} 步，"
               f"记录取自{SOURCES.get(result.source, result.source)}")
    for s in result.steps:
        open_tasks = "、".join(t.name for t in s.open_tasks) or (
            f"结束：{names.get(s.outcome, '')}" if s.outcome else "—")
        mark = "（仅作记录，不改变状态）" if not s.changes_state else ""
        actor = _actor(s.actor)
        typer.echo(f"{s.index:>3}  {_local(services, s.at)}  事件 {s.seq:<6} {actor}{' ' * (18 - width(actor))} "
                   f"{_what(s, names)} → {open_tasks}{mark}")
    typer.echo(f"结论：{result.verdict}")
    if result.first is not None:
        print_difference(result.first)
        if len(result.differences) > 1:
            typer.echo(f"  （另有 {len(result.differences) - 1} 处不符；加 `--json` 可全部列出）")


def print_step(services: Services, result: ReplayResult, n: int) -> None:
    """The state of the case after step `n`: open tasks, timers, data, changes, path."""
    _, names = diagram_names(services, result)
    s = result.step(n)
    typer.echo(f"案件 {result.application_id} 第 {s.index} 步（共 {len(result.steps)} 步）：事件 {s.seq}，"
               f"{_local(services, s.at)}，{_actor(s.actor)}，{_what(s, names)}")
    typer.echo("待办环节：" + ("、".join(f"{t.name}（{LANES.get(t.lane or '', t.lane or '—')}）" for t in s.open_tasks)
                              or "无"))
    for t in s.timers:
        where = f"，挂在“{names[t.attached_to]}”上" if t.attached_to in names else ""
        typer.echo(f"计时器：{names.get(t.spec, '期限')}，{_local(services, t.due_at)} 到期{where}")
    if s.outcome:
        typer.echo(f"已结束：{names.get(s.outcome, '结束')}")
    typer.echo("数据变化：" + ("；".join(f"{field_label(c.field)} {_value(c.before)} → {_value(c.after)}"
                                      for c in s.changes) or "无"))
    typer.echo("数据：" + _value(s.data))
    typer.echo("已走过：" + _named(s.path, names))
    typer.echo("本步经过：" + _named(s.passed, names))
    for d in (d for d in result.differences if d.step == n):
        typer.echo(f"不符：{d.message}")
        print_difference(d)
    typer.echo(f"整个案件的结论：{result.verdict}")


def print_bundle_report(report: BundleReport) -> None:
    for note in report.notes:
        typer.echo(f"说明：{note}")
    if report.replay is not None:
        typer.echo(f"案件 {report.application_id} 的回放：{report.replay.verdict}"
                   f"（共 {len(report.replay.steps)} 步）")
        if report.replay.first is not None:
            print_difference(report.replay.first)
    if report.ok:  # intact, its chain proof holds and it replays
        signed = "签名已核验" if report.signature_checked else "未核验签名"
        typer.echo(f"{report.message}（{signed}）")
