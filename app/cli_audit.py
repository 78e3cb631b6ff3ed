"""`smeflow audit ...`: the auditor's commands (all read only, except `anchor` and `archive`)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from app.cli_common import fail, guarded, output_file, services_from_env

audit_app = typer.Typer(help="审计链、回放与证据包", no_args_is_help=True)


@audit_app.command("verify", help="逐个核对整条审计链并指出第一处断开；核对每份签名的链头声明和每个归档证据包")
def audit_verify() -> None:
    """Walk the whole hash chain and name the first broken link; check every signed head statement
    against the chain and every archive bundle against its record."""
    from services.audit import anchors, history_index
    from services.audit.retention import check_archives
    from services.time.due import day_text

    def body() -> None:
        services = services_from_env()
        with services.uow() as uow:
            # a full walk, recorded: the pages rest on it
            report = history_index.chain_status(uow.session, now=services.clock.now(), max_age=timedelta(0), full=True)
            statements = anchors.verify(uow.session, key=services.settings.audit_key(), now=services.clock.now(),
                                         timezone=services.settings.timezone)
            archives = check_archives(uow, data_dir=services.settings.data_dir)
            uow.commit()
        problems: list[str] = []
        if report.ok:
            typer.echo(f"审计链完好：共 {report.checked} 个事件")
        else:
            problems.append(f"审计链断裂：第 {report.broken_at} 号事件{report.reason_zh}"
                            f"（此前 {report.checked} 个事件完好）")
        if statements.ok:
            latest = statements.latest
            typer.echo(f"签名的链头声明 {statements.checked} 份，均与审计链相符"
                       + (f"（最近一份：{day_text(latest.day)}，事件 {latest.seq}）" if latest else "")
                       if statements.checked else "尚未记录签名的链头声明")
        problems.extend(p.message for p in statements.problems)
        for warning in statements.warnings:
            typer.echo(f"警告：{warning}", err=True)
        if not archives.problems:
            typer.echo(f"归档证据包 {archives.checked} 个，均与记录相符")
        problems.extend(archives.problems)
        for line in problems[1:]:
            typer.echo(f"错误：{line}", err=True)
        if problems:
            fail(problems[0])

    guarded(body)


@audit_app.command("replay", help="按案件自己的流程图重新执行其记录，逐步对照；回放与记录不符时以 1 退出（指出第一"
                                  "处不一致）")
def audit_replay(
    case: Annotated[int, typer.Argument(help="案件的申请编号")],
    step: Annotated[int | None, typer.Option("--step", help="显示第 N 步之后的状态（从 1 起）")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False,
) -> None:
    """Re-execute the case's recorded history on its own diagram and compare step by step.

    Exits 1 when replay and record differ (the first differing step is named)."""
    from app.cli_audit_views import print_replay, print_step
    from services.audit import replay

    def body() -> None:
        services = services_from_env()
        with services.uow() as uow:
            result = replay.replay_case(uow, services, application_id=case)
        if step is not None and not 1 <= step <= len(result.steps):
            fail(f"步骤：第 {step} 步超出范围，案件 {case} 的记录共 {len(result.steps)} 步")
        if as_json:
            typer.echo(json.dumps(replay.as_dict(result, step=step), ensure_ascii=False, indent=2))
        elif step is not None:
            print_step(services, result, step)
        else:
            print_replay(services, result)
        if not result.reproduced:
            raise typer.Exit(1)

    guarded(body)


@audit_app.command("export", help="写出案件的证据包：事件、流程图、存储的状态和链证明，并签名")
def audit_export(
    case: Annotated[int, typer.Argument(help="案件的申请编号")],
    out: Annotated[Path | None, typer.Option("--out", help="写出的文件（默认 case-<编号>-evidence.json）")] = None,
) -> None:
    """Write the case's evidence bundle: events, diagram(s), stored state and chain proofs, signed."""
    from services.audit import bundles

    def body() -> None:
        services = services_from_env()
        target = output_file(out, suffix=".json", kind="证据包", default=Path(f"case-{case}-evidence.json"))
        with services.uow() as uow:
            done = bundles.export_case(uow, services, application_id=case, out=target, actor="cli",
                                       now=services.clock.now())
        typer.echo(f"已写入 {done.path}（{done.size:,} 字节，{done.events} 个事件，sha256 {done.sha256}）")
        if not done.anchored:
            typer.echo(f"说明：尚无签名的链头声明覆盖此案件，链证明止于当前链头（事件 {done.proof_to_seq}）。"
                       "明天运行 `smeflow audit anchor` 后重新导出，即可得到有签名的证明。")

    guarded(body)


@audit_app.command("check-bundle", help="离线（不需数据库）检查证据包：封签、签名、链证明，并回放")
def audit_check_bundle(
    file: Annotated[Path, typer.Argument(help="由 `smeflow audit export` 写出的证据包")],
    unsigned: Annotated[bool, typer.Option("--unsigned", help="不核验签名（手头没有密钥时）")] = False,
) -> None:
    """Check a bundle offline (no database): seal, signatures, chain proof, and replay it."""
    from app.cli_audit_views import print_bundle_report
    from config.settings import get_settings
    from services.audit.bundles import check_bundle

    def body() -> None:
        key = None if unsigned else get_settings().audit_key()
        report = check_bundle(file, signing_key=key)
        print_bundle_report(report)
        if not report.ok:
            fail(report.message)

    guarded(body)


@audit_app.command("anchor", help="记录今天的签名链头声明（每天一次；打印声明）")
def audit_anchor() -> None:
    """Record today's signed statement of the chain head (once per day; prints it)."""
    from services.audit import anchors
    from services.time.due import day_text

    def body() -> None:
        services = services_from_env()
        with services.uow() as uow:
            st, created = anchors.record(uow.session, key=services.settings.audit_key(),
                                         now=services.clock.now(), timezone=services.settings.timezone)
            uow.commit()
        typer.echo(("已记录" if created else "此前已记录") + f" {day_text(st.day)}的链头声明：事件 {st.seq}，"
                   f"链头哈希 {st.head_hash}")
        typer.echo(f"声明原文：{st.statement}")
        typer.echo(f"签名：{st.signature}（HMAC-SHA256，密钥编号 {st.key_id}）")

    guarded(body)


@audit_app.command("archive", help="把办结超过保存期限的案件移入 <data_dir>/archive 下的证据包")
def audit_archive(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="只列出到期的案件，不做更改")] = False,
    limit: Annotated[int | None, typer.Option("--limit", help="最多归档 N 件")] = None,
) -> None:
    """Move closed cases older than the retention setting into evidence bundles under <data_dir>/archive."""
    from services.audit import retention

    def body() -> None:
        services = services_from_env()
        report = retention.archive(services, now=services.clock.now(), actor="cli", dry_run=dry_run, limit=limit)
        days = services.settings.retention_days
        typer.echo(f"办结超过 {days} 天（{report.cutoff:%Y-%m-%d} 之前办结）的案件：{len(report.due)} 件")
        if dry_run:
            typer.echo("试运行，未做更改：" + ("、".join(f"案件 {i}" for i in report.due) or "没有需要归档的案件"))
            return
        for done in report.archived:
            typer.echo(f"已归档案件 {done.application_id}：{done.path}（{done.events} 个事件，"
                       f"sha256 {done.sha256[:16]}…）")
        for app_id, why in report.refused:
            typer.echo(f"未归档案件 {app_id}：{why}", err=True)
        if report.refused:
            raise typer.Exit(1)

    guarded(body)
