"""`smeflow pool ...` (the enterprise pool) and `smeflow offers ...` (awards offered without an
application, 免申即享). Bad input: one line naming the field and the rule, a non-zero exit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from app.cli_common import fail, guarded, input_file, positive_id, services_from_env

pool_app = typer.Typer(help="梯度培育库：认定名单与梯度", no_args_is_help=True)
offers_app = typer.Typer(help="免申即享奖励", no_args_is_help=True)


@pool_app.command("import", help="把一份正式认定名单作为一批导入：任一行有误则整份不导入（`--partial` 除外）")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="认定名单，.csv 或 .xlsx")],
    user: Annotated[str, typer.Option("--user", help="导入人用户名：市中小企业局或系统管理员")],
    partial: Annotated[bool, typer.Option("--partial", help="只导入有效行，其余报告错误")] = False,
) -> None:
    """Import an official recognition list as one batch: nothing unless every row is valid (or --partial)."""
    from services.accounts.users import get_user
    from services.pool.batches import import_list, require_importer
    from services.pool.offers import after_import

    def body() -> None:
        input_file(file)
        services = services_from_env()
        with services.uow() as uow:
            require_importer(get_user(uow.session, user).role)
            report = import_list(
                uow,
                services,
                content=file.read_bytes(),
                filename=file.name,
                actor=user,
                now=services.clock.now(),
                partial=partial,
                after=after_import,
            )
            uow.commit()
        for error in report.errors[:50]:
            typer.echo(str(error))
        if report.error_count > 50:
            typer.echo(f"……另有 {report.error_count - 50} 处错误未列出")
        if report.same_file_batch is not None:
            typer.echo(f"{file.name}：该文件此前已作为第 {report.same_file_batch} 批导入，未做更改")
            return
        typer.echo(
            (f"已导入第 {report.batch_id} 批。" if report.batch_id else "")
            + f"{file.name}：共 {report.rows} 行；新增荣誉 {report.created} 项，此前已导入 {report.existing} 项，"
            f"有误 {report.rejected} 行；新增企业 {report.enterprises_created} 家，名称待核 {report.names_flagged} 家；"
            f"发出免申即享奖励 {report.offers_made} 项"
        )
        if report.unsafe:
            fail(f"有 {report.error_count} 处错误（含公式单元格），未导入任何数据")
        if report.error_count and not partial:
            fail(f"有 {report.error_count} 处错误，未导入任何数据（加 `--partial` 可只导入有效行）")

    guarded(body)


@pool_app.command("list", help="企业库中的企业：梯度、荣誉、待确认的免申即享奖励和已拨付金额")
def list_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
    tier: Annotated[str | None, typer.Option("--tier", help="梯度：innovative 创新型中小企业 | "
                                                                 "srdi 专精特新中小企业 | little_giant 专精特新"
                                                                 "“小巨人”企业 | none 无梯度")] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="审核单位代码")] = None,
) -> None:
    """Enterprises of the pool by tier, with their honours, open offers and awards paid."""
    from services.money import yuan
    from services.pool.views import PoolFilter, pool_rows

    def body() -> None:
        services = services_from_env()
        with services.uow() as uow:
            rows, total = pool_rows(uow.session, services, user=None, filters=PoolFilter(tier, unit), limit=100_000)
        if as_json:
            typer.echo(
                json.dumps(
                    [
                        {
                            "uscc": r.uscc,
                            "name": r.name,
                            "unit": r.unit_code,
                            "tier": r.tier.code if r.tier else None,
                            "honours": [
                                {
                                    "type": h.code,
                                    "level": h.level_zh,
                                    "recognised_on": h.recognised_on.isoformat(),
                                    "document_no": h.document_no,
                                    "batch": h.batch_id,
                                    "current": h.current,
                                }
                                for h in r.honours
                            ],
                            "open_offers": r.open_offers,
                            "paid_fen": r.paid_fen,
                            "listed_names": r.listed_names,
                        }
                        for r in rows
                    ],
                    ensure_ascii=False,
                    indent=1,
                )
            )
            return
        for r in rows:
            typer.echo(
                f"{r.uscc}  {r.name}  {r.unit_name}  {r.tier.name_zh if r.tier else '（无梯度）'}  "
                f"荣誉 {len(r.honours)}  待确认 {r.open_offers}  已拨付 {yuan(r.paid_fen)} 元"
                + (f"  名称待核：{'、'.join(r.listed_names)}" if r.listed_names else "")
            )
        typer.echo(f"共 {total} 家企业")

    guarded(body)


@offers_app.command("list", help="各申报批次、各县区的免申即享奖励：已发出、待确认、已确认、逾期失效、企业放弃")
def offers_list(
    call: Annotated[int | None, typer.Option("--call", help="申报批次编号")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """Offers made, awaiting confirmation, confirmed, lapsed and declined, per call and district."""
    from services.pool.offer_views import figures

    def body() -> None:
        positive_id("申报批次", call)
        services = services_from_env()
        with services.uow() as uow:
            rows = figures(uow.session, None, call_id=call)
        if as_json:
            typer.echo(json.dumps([vars(f) for f in rows], ensure_ascii=False, indent=1))
            return
        for f in rows:
            typer.echo(f"申报批次 {f.call_id}“{f.call_title}”  {f.unit_name}：已发出 {f.made}，待确认 {f.open}，"
                       f"已确认 {f.confirmed}，逾期失效 {f.lapsed}，企业放弃 {f.declined}")
        typer.echo(f"共发出免申即享奖励 {sum(f.made for f in rows)} 项")

    guarded(body)


@offers_app.command("make", help="向每家符合条件的企业发出受理中批次各项措施的最高奖励（可重复运行）")
def offers_make(
    user: Annotated[str, typer.Option("--user", help="发出人用户名：市中小企业局或系统管理员")],
    call: Annotated[int | None, typer.Option("--call", help="申报批次编号（默认全部受理中的批次）")] = None,
) -> None:
    """Offer every qualifying enterprise the highest award of each measure in the open call(s) (idempotent)."""
    from services.accounts.users import get_user
    from services.pool.batches import require_importer
    from services.pool.offers import make_offers, sweep

    def body() -> None:
        positive_id("申报批次", call)
        services = services_from_env()
        with services.uow() as uow:
            require_importer(get_user(uow.session, user).role)
        if call is None:
            made = sweep(services, services.clock.now(), actor=user)
        else:
            with services.uow() as uow:
                made = make_offers(uow, services, call_id=call, actor=user, now=services.clock.now())
                uow.commit()
        typer.echo(f"发出免申即享奖励 {made} 项")

    guarded(body)


@offers_app.command("remind", help="提醒免申即享奖励即将逾期失效的企业（每份一次）")
def offers_remind() -> None:
    """Remind enterprises whose offers lapse within offer_reminder_lead_working_days (once each)."""
    from services.pool.offer_views import remind

    def body() -> None:
        services = services_from_env()
        typer.echo(f"已排队发送确认提醒 {remind(services, services.clock.now())} 封")

    guarded(body)
