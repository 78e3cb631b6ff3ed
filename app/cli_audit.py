"""`smeflow audit ...`: the auditor's commands."""

from __future__ import annotations

import typer

from app.cli_common import fail, guarded, services_from_env

audit_app = typer.Typer(help="Audit chain, replay and evidence bundles", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify() -> None:
    """Walk the whole hash chain and name the first broken link."""
    from services import audit

    def body() -> None:
        services = services_from_env()
        with services.uow() as uow:
            report = audit.verify(uow.session)
        if report.ok:
            typer.echo(f"OK: audit chain intact, {report.checked} events")
            return
        fail(f"audit chain broken at event {report.broken_at}: {report.reason} "
             f"({report.checked} events before it are intact)")

    guarded(body)
