"""`smeflow policy simulate`: price a draft edition against the pool (the policy sandbox)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from app.cli_common import guarded, output_file, services_from_env

policy_app = typer.Typer(help="政策版本：载入、校验、列出，以及政策沙盘测算", no_args_is_help=True)


def _as_of(text: str | None) -> date | None:
    from services.errors import InvalidInput

    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput("as_of", f"日期须为 YYYY-MM-DD，收到 {text[:20]!r}") from None


@policy_app.command("simulate", help="以企业库测算草案与某政策版本的奖励支出；除测算记录外不写入任何数据")
def simulate_cmd(
    draft: Annotated[str, typer.Argument(help="已存储的政策版本代码，或尚未载入的政策版本文件（.toml）")],
    against: Annotated[str | None, typer.Option("--against", help="对比的政策版本")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="测算日期 YYYY-MM-DD（默认今天或草案施行之日）")] = None,
    take_up: Annotated[str, typer.Option("--take-up", help="领取率：observed（按以往批次实际情况）"
                                                                       "或 0..1 之间的固定比例")] = "observed",
    out: Annotated[Path | None, typer.Option("--out", help="把测算工作簿（XLSX）写到此文件")] = None,
    user: Annotated[str, typer.Option("--user", help="测算人用户名：市中小企业局、市财政局或管理人员")] = "bureau",
) -> None:
    """Price DRAFT against an edition on the enterprise pool; nothing but the record is written."""
    from services.accounts.users import get_user
    from services.errors import InvalidInput
    from services.sandbox import export, run

    def body() -> None:
        services = services_from_env()
        path = Path(draft)
        if draft.endswith(".toml") and not path.is_file():
            raise InvalidInput("draft", f"找不到草案文件 {draft}")
        if out is not None:
            output_file(out, suffix=".xlsx", kind="测算工作簿", default=out)
        with services.uow() as uow:
            run.require_sandbox(get_user(uow.session, user))
        request = run.Request(draft=None if path.is_file() else draft,
                              draft_file=(path.name, path.read_bytes()) if path.is_file() else None,
                              against=against, as_of=_as_of(as_of), take_up=take_up)
        recorded = run.simulate(services, request, actor=user)
        _print(recorded.result, recorded.id)
        if out is not None:
            names = {u.code: u.name_zh for u in services.units}
            out.write_bytes(export.to_xlsx(recorded.result, simulation_id=recorded.id, actor=user,
                                           sha256=recorded.draft_sha256, unit_name=names))
            typer.echo(f"测算工作簿已写入 {out}")

    guarded(body)


def _print(result: object, simulation_id: int) -> None:
    from services.money import yuan
    from services.sandbox import SimulationResult
    from services.sandbox.export import rate_text

    assert isinstance(result, SimulationResult)
    r = result
    take_up = "按以往批次实际情况" if r.take_up_mode == "observed" else r.take_up_mode
    typer.echo(f"测算记录 {simulation_id}: 草案 {r.draft_code} 对比 {r.against_code}，测算日期 {r.as_of}，"
               f"领取率 {take_up}，就高不重复 {'是' if r.highest_only else '否'}，"
               f"企业库 {r.pool_enterprises} 家 / {r.pool_honours} 项荣誉")
    typer.echo("奖励类型 | 草案符合 | 现行符合 | 草案按上限(元) | 现行按上限(元) | 草案按核定比例(元) "
               "| 现行按核定比例(元) | 差额(元) | 领取率 | 核定额/上限")
    for a in r.awards:
        typer.echo(f"{a.name_zh} | {a.draft.awards} | {a.against.awards} | {yuan(a.draft.cost_cap_fen)} | "
                   f"{yuan(a.against.cost_cap_fen)} | {yuan(a.draft.cost_ratio_fen)} | "
                   f"{yuan(a.against.cost_ratio_fen)} | {yuan(a.delta_ratio_fen)} | {rate_text(a.take_up)} | "
                   f"{rate_text(a.ratio)}")
    d, c = r.total("draft"), r.total("against")
    typer.echo(f"合计 | {d.awards} | {c.awards} | {yuan(d.cost_cap_fen)} | {yuan(c.cost_cap_fen)} | "
               f"{yuan(d.cost_ratio_fen)} | {yuan(c.cost_ratio_fen)} | {yuan(d.cost_ratio_fen - c.cost_ratio_fen)}")
    typer.echo(f"就高不重复减少：草案 {d.dropped} 项（{yuan(d.dropped_cap_fen)} 元），现行 {c.dropped} 项"
               f"（{yuan(c.dropped_cap_fen)} 元）")
    typer.echo("区县 | 草案按核定比例(元) | 现行按核定比例(元) | 差额(元)")
    for x in r.districts:
        typer.echo(f"{x.name_zh} | {yuan(x.draft.cost_ratio_fen)} | {yuan(x.against.cost_ratio_fen)} | "
                   f"{yuan(x.delta_ratio_fen)}")
    typer.echo(f"资金需求（区县配套比例 {r.matching_share}）| 草案按上限(元) | 草案按核定比例(元)")
    for f in r.funds:
        typer.echo(f"{f.name_zh if f.line == 'city' else f.name_zh + ' 配套资金'} | {yuan(f.draft_cap_fen)} | "
                   f"{yuan(f.draft_ratio_fen)}")
    typer.echo(f"增加奖励的企业 {len(r.gainers)} 家，减少奖励的企业 {len(r.losers)} 家")
