"""`smeflow audit ...`: the auditor's commands (all read only, except `anchor` and `archive`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from app.cli_common import fail, guarded, output_file, services_from_env

audit_app = typer.Typer(help="Audit chain, replay and evidence bundles", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk the whole hash chain and name the first broken link; check every signed head statement
    against the chain and every archive bundle against its record."""
    from services.audit import anchors, history_index
    from services.audit import chain as audit
    from services.audit.retention import check_archives
    from services.time.due import day_text

    def body() -> None:
        services = services_from_env()
        with services.uow() as uow:
            walk = history_index.record_full_walk(uow.session, services.clock.now())  # the pages rest on it
            report = audit.ChainReport(walk.ok, walk.checked, walk.broken_at, walk.reason)
            statements = anchors.verify(uow.session, key=services.settings.audit_key(), now=services.clock.now(),
                                         timezone=services.settings.timezone)
            archives = check_archives(uow, data_dir=services.settings.data_dir)
            uow.commit()
        problems: list[str] = []
        if report.ok:
            typer.echo(f"审计链完好：共 {report.checked} 个事件")
        else:
            problems.append(f"审计链在事件 {report.broken_at} 处断开：{report.reason}"
                            f"（此前的 {report.checked} 个事件完好）")
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


@audit_app.command("replay")
def audit_replay(
    case: Annotated[int, typer.Argument(help="application id of the case")],
    step: Annotated[int | None, typer.Option("--step", help="show the state after step N (1-based)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
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
            fail(f"步骤：第 {step} 步超出范围，申请 {case} 的记录共 {len(result.steps)} 步")
        if as_json:
            typer.echo(json.dumps(replay.as_dict(result, step=step), ensure_ascii=False, indent=2))
        elif step is not None:
            print_step(services, result, step)
        else:
            print_replay(services, result)
        if not result.reproduced:
            raise typer.Exit(1)

    guarded(body)


@audit_app.command("export")
def audit_export(
    case: Annotated[int, typer.Argument(help="application id of the case")],
    out: Annotated[Path | None, typer.Option("--out", help="file to write (default case-<id>-evidence.json)")] = None,
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


@audit_app.command("check-bundle")
def audit_check_bundle(
    file: Annotated[Path, typer.Argument(help="an evidence bundle written by `smeflow audit export`")],
    unsigned: Annotated[bool, typer.Option("--unsigned", help="do not check signatures (no key at hand)")] = False,
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


@audit_app.command("anchor")
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


@audit_app.command("archive")
def audit_archive(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="list the cases due, change nothing")] = False,
    limit: Annotated[int | None, typer.Option("--limit", help="archive at most N cases")] = None,
) -> None:
    """Move closed cases older than the retention setting into evidence bundles under <data_dir>/archive."""
    from services.audit import retention

    def body() -> None:
        services = services_from_env()
        report = retention.archive(services, now=services.clock.now(), actor="cli", dry_run=dry_run, limit=limit)
        days = services.settings.retention_days
        typer.echo(f"办结超过 {days} 天（{report.cutoff:%Y-%m-%d} 之前办结）的案件：{len(report.due)} 件")
        if dry_run:
            typer.echo("试运行，未做更改：" + ("、".join(f"申请 {i}" for i in report.due) or "没有需要归档的案件"))
            return
        for done in report.archived:
            typer.echo(f"已归档申请 {done.application_id}：{done.path}（{done.events} 个事件，"
                       f"sha256 {done.sha256[:16]}…）")
        for app_id, why in report.refused:
            typer.echo(f"未归档申请 {app_id}：{why}", err=True)
        if report.refused:
            raise typer.Exit(1)

    guarded(body)
