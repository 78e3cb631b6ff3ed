"""Printing for the CLI: tables of cases, inboxes, the catalogue and the demo run."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Any

import typer

from config.policy import Edition
from services.awards import labels
from services.bootstrap import Services
from services.money import yuan
from services.time import due


def _deadline(services: Services, when: datetime | None, now: datetime) -> str:
    """The one way a deadline reads (services.time.due): last day, then what is left or how late."""
    return due.deadline_text(when, now, services.settings.timezone, services.calendar) if when else "-"


def width(text: str) -> int:
    """Terminal columns of `text`: wide and fullwidth characters (CJK, （）) take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def clip(text: str, columns: int) -> str:
    """`text` cut to at most `columns` terminal columns, with … where it was cut."""
    if width(text) <= columns:
        return text
    out, used = "", 0
    for ch in text:
        w = width(ch)
        if used + w > columns - 1:
            break
        out, used = out + ch, used + w
    return out + "…"


def table(headers: list[str], rows: list[list[str]]) -> None:
    """Print an aligned plain-text table (CJK characters count double)."""
    cols = [max([width(h)] + [width(r[i]) for r in rows]) for i, h in enumerate(headers)]
    for line in [headers, ["-" * c for c in cols], *rows]:
        typer.echo("  ".join(cell + " " * (cols[i] - width(cell)) for i, cell in enumerate(line)).rstrip())


def print_cases(services: Services) -> None:
    from services.dashboard.queries import case_rows
    from services.mail.outbox import failed_mails, outbox_counts

    with services.uow() as uow:
        rows = case_rows(uow.session)
        mail = outbox_counts(uow.session)
        failed = failed_mails(uow.session, limit=10)
    now = services.clock.now()
    table(["编号", "企业", "奖励", "状态", "环节", "申请(元)", "核定(元)", "已拨(元)", "办理期限", "督办"], [
        [str(r.application_id), r.enterprise, r.award, labels.status(r.status), r.stage_name, yuan(r.requested_fen),
         yuan(r.awarded_fen) if r.awarded_fen is not None else "-", yuan(r.paid_fen) if r.paid_fen else "-",
         _deadline(services, r.due_at, now) if r.status == "running" else "-", _lateness(r, now)]
        for r in rows])
    typer.echo(f"\n邮件发件箱：待发送 {mail['pending'] + mail['sending']}（其中重试中 {mail.get('retrying', 0)}），"
               f"已发送 {mail['sent']}，发送失败 {mail['failed']}")
    for m in failed:
        typer.echo(f"  失败 #{m.id} {m.subject} → {', '.join(m.recipients)}：{m.last_error}"
                   f"（重新发送：smeflow outbox retry {m.id} --user manager）")


def _lateness(row: Any, now: datetime) -> str:
    if row.escalated:
        return "已督办"
    return ""


def print_inbox(services: Services, username: str) -> None:
    from services.accounts.users import get_user
    from services.awards import tasks
    from services.db.models import Application, AwardType, Enterprise

    now = services.clock.now()
    with services.uow() as uow:
        user = get_user(uow.session, username)
        items = tasks.inbox(uow.session, user)
        rows = []
        for item in items:
            app = uow.session.get_one(Application, item.application_id)
            ent = uow.session.get_one(Enterprise, app.enterprise_id)
            award = uow.session.get_one(AwardType, app.award_type_code)
            when = _deadline(services, item.due_at, now) + ("（暂定）" if item.due_provisional else "")
            rows.append([str(item.id), item.name, str(app.id), ent.name, award.name_zh, when,
                         "已督办" if item.escalation_level >= 2 else ""])
    if not rows:
        typer.echo(f"{username}：没有待办事项")
        return
    table(["待办编号", "环节", "申报编号", "企业", "奖励", "办理期限", "督办"], rows)


def catalogue_json(editions: list[Edition]) -> list[dict[str, Any]]:
    return [{
        "edition": ed.code, "doc_no": ed.doc_no, "title": ed.title,
        "in_force_from": ed.in_force_from.isoformat(), "in_force_until": ed.in_force_until.isoformat(),
        "coverage_from": ed.coverage_from.isoformat(),
        "award_types": [{"code": a.code, "measure": a.measure, "honour_type": a.honour_type, "level": a.level,
                         "name_zh": a.name_zh, "cap_fen": a.cap_fen, "cap_yuan": yuan(a.cap_fen),
                         "route": a.route, "clause": a.clause} for a in ed.award_types],
    } for ed in editions]


def print_awards(editions: list[Edition]) -> None:
    for ed in editions:
        typer.echo(f"{ed.doc_no} {ed.in_force_from} ~ {ed.in_force_until}")
        table(["代码", "措施", "奖励", "上限(元)"],
              [[a.code, str(a.measure), a.name_zh, yuan(a.cap_fen)] for a in ed.award_types])


def print_demo(services: Services) -> None:
    from services.awards.demo import DEMO_PASSWORD, Demo

    demo = Demo(services)
    if demo.already_loaded():
        typer.echo("演示数据已存在，当前案件：")
    else:
        demo.load()
        for case in demo.run():
            typer.echo(f"\n案例 #{case.application_id}（{case.title}）")
            for step in case.path:
                typer.echo(f"  → {step}")
        typer.echo("\n案例“资金不足，拨付被拒”有意展示资金不足：2024 年资金的已核定金额因此超出余额。")
        at = demo.prepare_today()
        typer.echo(f"演示时钟：{at:%Y-%m-%d %H:%M}（2025 年度批次受理中；企业账号 applicant-g 可在浏览器中申报，"
                   "管理员可在“系统管理 → 演示时钟”页面拨动演示时钟）")
        typer.echo("")
    print_cases(services)
    typer.echo(f"\n演示账号（密码均为 {DEMO_PASSWORD}）：bureau, finance, manager, auditor, admin, "
               "district-donghu, head-donghu, district-xihu, district-honggutan, onsite-honggutan, "
               "applicant-a … applicant-g")
