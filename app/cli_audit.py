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
            typer.echo(f"OK: audit chain intact, {report.checked} events")
        else:
            problems.append(f"audit chain broken at event {report.broken_at}: {report.reason} "
                            f"({report.checked} events before it are intact)")
        if statements.ok:
            latest = statements.latest
            typer.echo(f"OK: {statements.checked} signed head statements match the chain"
                       + (f" (latest {latest.day}: event {latest.seq})" if latest else " (none recorded yet)"))
        problems.extend(p.message for p in statements.problems)
        for warning in statements.warnings:
            typer.echo(f"警告 warning: {warning}", err=True)
        if not archives.problems:
            typer.echo(f"OK: {archives.checked} archive bundles match their records")
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
            fail(f"--step {step} is out of range: case {case} has steps 1 to {len(result.steps)}")
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
        typer.echo(f"wrote {done.path} ({done.size:,} bytes, {done.events} events, sha256 {done.sha256})")
        if not done.anchored:
            typer.echo("note: no signed head statement covers this case yet; the chain proof ends at the head "
                       f"(event {done.proof_to_seq}). Run `smeflow audit anchor` tomorrow and export again "
                       "for a signed proof.")

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

    def body() -> None:
        services = services_from_env()
        with services.uow() as uow:
            st, created = anchors.record(uow.session, key=services.settings.audit_key(),
                                         now=services.clock.now(), timezone=services.settings.timezone)
            uow.commit()
        typer.echo(("recorded" if created else "already recorded") + f" statement of {st.day}: "
                   f"event {st.seq}, head {st.head_hash}")
        typer.echo(f"statement {st.statement}")
        typer.echo(f"signature {st.signature} (HMAC-SHA256, key id {st.key_id})")

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
        typer.echo(f"cases closed more than {days} days ago (before {report.cutoff:%Y-%m-%d}): {len(report.due)}")
        if dry_run:
            typer.echo("dry run: " + (", ".join(f"#{i}" for i in report.due) or "nothing to archive"))
            return
        for done in report.archived:
            typer.echo(f"archived case {done.application_id}: {done.path} ({done.events} events, "
                       f"sha256 {done.sha256[:16]}…)")
        for app_id, why in report.refused:
            typer.echo(f"kept case {app_id}: {why}", err=True)
        if report.refused:
            raise typer.Exit(1)

    guarded(body)
