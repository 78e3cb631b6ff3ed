"""The `smeflow` command line. Every command answers bad input with one clear line and a
non-zero exit, never a traceback (set SMEFLOW_DEBUG=1 to see one)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from app.cli_accounts import tokens_app, users_app
from app.cli_arrears import arrears_app
from app.cli_audit import audit_app
from app.cli_budget import call_app, fund_app
from app.cli_calendar import calendar_app
from app.cli_common import fail, guarded, services_from_env
from app.cli_errors import ChineseUsageErrors
from app.cli_policy import policy_app
from app.cli_pool import offers_app, pool_app

app = typer.Typer(help="smeflow: Nanchang SME support policy workflows", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False, cls=ChineseUsageErrors)
bpmn_app = typer.Typer(help="BPMN diagrams", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(bpmn_app, name="bpmn")
app.add_typer(arrears_app, name="arrears")
app.add_typer(calendar_app, name="calendar")
app.add_typer(pool_app, name="pool")
app.add_typer(offers_app, name="offers")
app.add_typer(policy_app, name="policy")
app.add_typer(fund_app, name="fund")
app.add_typer(call_app, name="call")
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")
outbox_app = typer.Typer(help="Mail outbox", no_args_is_help=True)
app.add_typer(outbox_app, name="outbox")


@app.command()
def init() -> None:
    """Create or migrate the database, load policy data and install the bundled diagrams."""
    from sqlalchemy.engine import make_url

    from services.setup import initialise

    def body() -> None:
        services = services_from_env()
        for line in initialise(services):
            typer.echo(f"已安装流程：{line}")
        services.settings.session_secret()  # both secrets are generated on first start when not set
        services.settings.audit_key()
        url = make_url(services.settings.database_url).render_as_string(hide_password=True)
        typer.echo(f"数据库已就绪：{url}")

    guarded(body)


@app.command()
def demo() -> None:
    """Load demo users, enterprises and a call, and drive cases through every path."""
    from app.cli_views import print_demo

    guarded(lambda: print_demo(services_from_env()))


@app.command("tasks")
def tasks_cmd(user: Annotated[str, typer.Option("--user", help="username")]) -> None:
    """The user's inbox: open work items, oldest deadline first."""
    from app.cli_views import print_inbox

    guarded(lambda: print_inbox(services_from_env(), user))


@app.command()
def complete(
    item: Annotated[int, typer.Argument(help="work item id (from `smeflow tasks`)")],
    user: Annotated[str, typer.Option("--user")],
    decision: Annotated[str, typer.Option("--decision", help="approve/return/reject/objection/pay/resubmit")],
    amount: Annotated[str | None, typer.Option("--amount", help="award amount in yuan (bureau review)")] = None,
    reason: Annotated[str | None, typer.Option("--reason")] = None,
    reference: Annotated[str | None, typer.Option("--reference", help="payment reference (finance)")] = None,
) -> None:
    """Complete a work item with a decision."""
    from services.awards import labels, tasks
    from services.money import parse_yuan

    def body() -> None:
        services = services_from_env()
        fen = parse_yuan(amount) if amount is not None else None
        with services.uow() as uow:
            done = tasks.complete(uow, services, item_id=item, username=user, now=services.clock.now(),
                                  decision=tasks.Decision(decision, reason, fen, reference))
            uow.commit()
        typer.echo(f"工作项 {done.id}（{done.name}）已办理：{labels.decision(decision)}")

    guarded(body)


@app.command()
def cases() -> None:
    """Where every case is."""
    from app.cli_views import print_cases

    guarded(lambda: print_cases(services_from_env()))


@app.command()
def sweep() -> None:
    """Run the deadline sweep once, now: fire due timers, mark overdue work, escalate."""
    from services.awards.deadlines import sweep as run_sweep

    def body() -> None:
        services = services_from_env()
        report = run_sweep(services, services.clock.now())
        typer.echo(f"到期处理 {len(report.fired)} 项（涉及 {report.due_instances} 件申报）；"
                   f"升级督办工作项 {len(report.escalated)} 个")

    guarded(body)


@app.command()
def remind() -> None:
    """Queue today's digest for every officer (on working days only), once."""
    from services.awards.reminders import run_reminders

    def body() -> None:
        services = services_from_env()
        report = run_reminders(services, services.clock.now())
        if not report.working_day:
            typer.echo("今天不是工作日：不发送待办提醒")
            return
        typer.echo(f"已为 {report.officers} 名经办人排队发送待办提醒 {report.queued} 封")

    guarded(body)


@outbox_app.command("send")
def outbox_send() -> None:
    """Send the pending mail now (SMTP settings SMEFLOW_SMTP_*)."""
    from services.mail.outbox import send_pending

    def body() -> None:
        services = services_from_env()
        r = send_pending(services, services.clock.now())
        typer.echo(f"已发送 {r.sent} 封，稍后重试 {r.retried} 封，发送失败 {r.failed} 封，"
                   f"收回中断的发送 {r.reclaimed} 封")

    guarded(body)


@outbox_app.command("retry")
def outbox_retry(mail_id: Annotated[int, typer.Argument(help="id of a failed mail")],
                 user: Annotated[str, typer.Option("--user", help="a manager or admin")]) -> None:
    """Put a failed mail back in the queue (audited)."""
    from services.accounts.users import get_user
    from services.dashboard import retry_mail

    def body() -> None:
        services = services_from_env()
        with services.uow() as uow:
            retry_mail(uow.session, user=get_user(uow.session, user), mail_id=mail_id, now=services.clock.now())
            uow.commit()
        typer.echo(f"邮件 {mail_id} 已重新排队发送")

    guarded(body)


@app.command()
def awards(as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
    """The award catalogue of every loaded policy edition."""
    from app.cli_views import catalogue_json, print_awards

    def body() -> None:
        services = services_from_env()
        if as_json:
            typer.echo(json.dumps(catalogue_json(services.editions), ensure_ascii=False, indent=2))
        else:
            print_awards(services.editions)

    guarded(body)


@app.command()
def worker() -> None:
    """Serve the scheduled flows (deadline sweep, reminders, mail outbox) until Ctrl-C/SIGTERM.
    Without PREFECT_API_URL it starts a local Prefect server (state under <data_dir>/prefect)."""
    from app.worker import PrefectServerError, run_worker
    from config.settings import get_settings

    def body() -> None:
        try:
            run_worker(get_settings())
        except PrefectServerError as exc:
            fail(str(exc))
        except KeyboardInterrupt:
            pass  # Ctrl-C, or SIGTERM before Prefect's runner installed its own handler: a normal stop

    guarded(body)


@app.command()
def deploy(pool: Annotated[str, typer.Option("--pool", help="Prefect work pool (type process)")]) -> None:
    """Register the flows with a Prefect work pool, for `prefect worker start --pool`. Needs PREFECT_API_URL."""
    from config.settings import get_settings
    from workflows.schedules import deploy_to_pool

    guarded(lambda: deploy_to_pool(get_settings(), pool))


@app.command()
def serve(host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="port")] = 8000,
          workers: Annotated[int, typer.Option(help="worker processes")] = 1) -> None:
    """Run the web service (uvicorn): pages and the JSON API under /api/v1. X-Forwarded-For/-Proto are
    trusted only from the proxies named by SMEFLOW_FORWARDED_ALLOW_IPS (none by default)."""
    import uvicorn

    from config.settings import get_settings

    proxies = guarded(lambda: get_settings().forwarded_allow_ips.strip())
    uvicorn.run("app.web.asgi:app", host=host, port=port, workers=workers, log_level="info",
                proxy_headers=bool(proxies), forwarded_allow_ips=proxies or None)


@bpmn_app.command("validate")
def bpmn_validate(files: Annotated[list[Path], typer.Argument(help="BPMN/DMN files")]) -> None:
    """Check diagrams: per file, OK or each problem with its element id and line."""
    from services.engine.validate import validate_files

    results = validate_files(files)
    errors = 0
    for name, problems in results.items():
        found = [p for p in problems if p.severity == "error"]
        if not found:
            typer.echo(f"{name}：通过" + (f"（{len(problems)} 个警告）" if problems else ""))
        for problem in problems:
            typer.echo(str(problem))
        errors += len(found)
    if errors:
        raise typer.Exit(1)


@app.command()
def up(host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
       port: Annotated[int, typer.Option(help="port")] = 8000) -> None:
    """Run the web service with the worker beside it (what `make run` starts), and the local mail sink
    when the settings ask for it (SMEFLOW_MAIL_SINK); Ctrl-C stops all. If the worker exits (say its
    Prefect port is taken), the web service stops too and the command exits 1: no service runs without
    its deadline sweep, reminders and mail."""
    from app.supervise import run_up
    from config.settings import get_settings

    raise typer.Exit(run_up(get_settings(), host=host, port=port))


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
