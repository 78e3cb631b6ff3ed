"""`smeflow fund ...` (budget lines per year) and `smeflow call ...` (calls of the edition in force).

Amounts are yuan ("250000", "12,345.50"), stored as exact fen. Bad input: one line naming the field
and the rule, exit 1, nothing stored.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer

from app.cli_common import fail, guarded, services_from_env

fund_app = typer.Typer(help="各年度资金：市级专项资金、区县配套资金",
                       no_args_is_help=True)
call_app = typer.Typer(help="今天施行的政策版本下的申报批次", no_args_is_help=True)
CALL_STATES = {"open": "受理中", "pending": "未开始", "ended": "已截止", "closed": "已提前截止"}
UserOpt = Annotated[str, typer.Option("--user", help="办理人用户名（记入审计）")]


def _day(field: str, value: str) -> date:
    from services.errors import InvalidInput

    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(field, f"日期格式应为 YYYY-MM-DD，收到 {value[:20]!r}") from exc


@fund_app.command("create", help="为一个预算年度设立市级专项资金或区县配套资金")
def fund_create(year: Annotated[int, typer.Option("--year", help="预算年度")],
                budget: Annotated[str, typer.Option("--budget", help="预算，单位元")],
                user: UserOpt,
                line: Annotated[str, typer.Option("--line", help="`city`（市级）或审核单位代码（配套资金）")] = "city",
                name: Annotated[str | None, typer.Option("--name", help="资金名称（默认按年度生成）")] = None) -> None:
    """Create the city's fund or a district's matching fund for a budget year."""
    from services.accounts.users import get_user
    from services.awards import funds
    from services.money import parse_yuan, yuan

    def body() -> None:
        services = services_from_env()
        with services.uow() as uow:
            fund = funds.create(uow.session, user=get_user(uow.session, user), year=year, line=line,
                                budget_fen=parse_yuan(budget, "budget"), name=name, now=services.clock.now())
            uow.commit()
        typer.echo(f"已创建资金 {fund.code}：{fund.name}，预算 {yuan(fund.budget_fen)} 元")

    guarded(body)


@fund_app.command("adjust", help="设定或增减一条资金的预算，须说明理由")
def fund_adjust(code: Annotated[str, typer.Argument(help="资金代码，如 2025-city（见 `smeflow fund list`）")],
                reason: Annotated[str, typer.Option("--reason", help="理由（必填，记入审计）")],
                user: UserOpt,
                to: Annotated[str | None, typer.Option("--to", help="新的预算，单位元")] = None,
                by: Annotated[str | None, typer.Option("--by", help="增减金额，单位元，如 -50000")] = None) -> None:
    """Set or change a budget line's budget, with a reason."""
    from services.accounts.users import get_user
    from services.awards import funds
    from services.money import parse_yuan, yuan

    def body() -> None:
        services = services_from_env()
        with services.uow() as uow:
            before = funds.find(uow.session, code).budget_fen
            fund = funds.adjust(uow.session, user=get_user(uow.session, user), code=code, reason=reason,
                                now=services.clock.now(), to_fen=parse_yuan(to, "to") if to is not None else None,
                                by_fen=parse_yuan(by, "by") if by is not None else None)
            uow.commit()
        typer.echo(f"已调整资金 {fund.code}（{fund.name}）的预算：{yuan(before)} 元 → {yuan(fund.budget_fen)} 元")

    guarded(body)


@fund_app.command("list", help="每条资金：预算、已核定未拨付、已拨付、余额和可用")
def fund_list(as_json: Annotated[bool, typer.Option("--json", help="输出 JSON（金额单位分）")] = False) -> None:
    """Every budget line: budget, committed, paid, remaining and available."""
    from services.dashboard import fund_figures
    from services.money import yuan

    def body() -> None:
        services = services_from_env()
        with services.uow() as uow:
            lines = fund_figures(uow.session, district_percent=services.settings.district_matching_percent)
        if as_json:
            typer.echo(json.dumps([{"code": f.code, "name": f.name, "year": f.year, "line": f.line,
                                    "budget_fen": f.budget_fen, "committed_fen": f.committed_fen,
                                    "paid_fen": f.paid_fen, "available_fen": f.available_fen} for f in lines],
                                  ensure_ascii=False, indent=2))
            return
        if not lines:
            typer.echo("尚无资金预算；请用 `smeflow fund create --year 年度 --budget 金额 --user 用户名` 创建")
        for f in lines:
            typer.echo(f"{f.code}  {f.name}  预算 {yuan(f.budget_fen)} 元  已核定未拨付 {yuan(f.committed_fen)} 元  "
                       f"已拨付 {yuan(f.paid_fen)} 元  可用 {yuan(f.available_fen)} 元")

    guarded(body)


@call_app.command("open", help="今天按今天施行的政策版本开启申报批次")
def call_open(title: Annotated[str, typer.Option("--title", help="批次名称")],
              closes: Annotated[str, typer.Option("--closes", help="截止日期（最后一天），YYYY-MM-DD")],
              user: UserOpt,
              fund: Annotated[str | None, typer.Option("--fund", help="资金代码（默认今年的市级资金）")]
              = None,
              award: Annotated[list[str] | None, typer.Option("--award", help="奖励代码（可重复；默认全部）")]
              = None) -> None:
    """Open a call today under the edition in force today."""
    from config.policy import edition_for
    from services.accounts.users import get_user
    from services.awards import admin
    from services.awards.claims import local_today
    from services.time.due import day_text

    def body() -> None:
        services = services_from_env()
        today = local_today(services)
        edition = edition_for(services.editions, today)
        if edition is None:
            fail(f"政策版本：{day_text(today)}没有施行中的政策版本；请先用 `smeflow policy load 文件` 载入")
            return
        codes = list(award or [a.code for a in edition.award_types])
        with services.uow() as uow:
            call = admin.open_call(uow.session, user=get_user(uow.session, user), editions=[edition],
                                   edition_code=edition.code, title=title, opens_on=today,
                                   closes_on=_day("closes_on", closes), award_types=codes,
                                   fund_code=fund or f"{today.year}-city", now=services.clock.now())
            uow.commit()
        typer.echo(f"已开启申报批次 {call.id}“{call.title}”（政策版本 {edition.code}）：{day_text(call.opens_on)}至"
                   f"{day_text(call.closes_on)}，{len(call.award_types)} 项奖励")

    guarded(body)


@call_app.command("close", help="提前截止一个申报批次：此后不再受理申报")
def call_close(call_id: Annotated[int, typer.Argument(help="申报批次编号（见 `smeflow call list`）")],
               user: UserOpt) -> None:
    """Close a call early: it accepts no application from now on."""
    from services.accounts.users import get_user
    from services.awards import admin
    from services.awards.claims import local_today

    def body() -> None:
        services = services_from_env()
        with services.uow() as uow:
            call = admin.close_call(uow.session, user=get_user(uow.session, user), call_id=call_id,
                                    now=services.clock.now(), today=local_today(services))
            uow.commit()
        typer.echo(f"已提前截止申报批次 {call.id}“{call.title}”，此后不再受理申报")

    guarded(body)


@call_app.command("list", help="每个申报批次及其今天的状态：受理中、未开始、已截止、已提前截止")
def call_list(as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False) -> None:
    """Every call with its state today: open, pending, ended, closed early."""
    from sqlalchemy import select

    from services.awards.calls import is_open
    from services.awards.claims import local_today
    from services.db.models import Call

    def body() -> None:
        services = services_from_env()
        today = local_today(services)
        with services.uow() as uow:
            rows = list(uow.session.scalars(select(Call).order_by(Call.id)))
        out = [{"id": c.id, "title": c.title, "edition": c.edition_code, "opens_on": c.opens_on.isoformat(),
                "closes_on": c.closes_on.isoformat(), "award_types": c.award_types,
                "state": "closed" if c.closed_early else "open" if is_open(c, today)
                else "ended" if c.closes_on < today else "pending"} for c in rows]
        if as_json:
            typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
            return
        if not out:
            typer.echo("尚无申报批次")
        for o in out:
            typer.echo(f"{o['id']}  {CALL_STATES[str(o['state'])]}  {o['opens_on']} 至 {o['closes_on']}  "
                       f"政策版本 {o['edition']}  {o['title']}")

    guarded(body)
