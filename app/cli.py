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

app = typer.Typer(help="smeflow：南昌市中小企业扶持政策办理流程", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False, cls=ChineseUsageErrors)


def _chinese_help_frame() -> None:
    """The frame of `--help` in Chinese where typer lets it be set (the panel titles and the markers); the
    usage line and the help option's own line stay typer's."""
    try:
        from typer import rich_utils
    except ImportError:  # pragma: no cover - without rich, typer prints click's plain help
        return
    for name, text in {"ARGUMENTS_PANEL_TITLE": "参数", "OPTIONS_PANEL_TITLE": "选项", "COMMANDS_PANEL_TITLE": "命令",
                       "REQUIRED_LONG_STRING": "[必填]", "DEFAULT_STRING": "[默认：{}]"}.items():
        if hasattr(rich_utils, name):
            setattr(rich_utils, name, text)


_chinese_help_frame()
bpmn_app = typer.Typer(help="流程图（BPMN）", no_args_is_help=True)
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
outbox_app = typer.Typer(help="邮件发件箱", no_args_is_help=True)
app.add_typer(outbox_app, name="outbox")


@app.command(help="建立或迁移数据库，载入政策数据，安装随附的流程图（可重复运行）")
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


@app.command(help="载入演示账号、企业和申报批次，并把演示案例走完各条路径")
def demo() -> None:
    """Load demo users, enterprises and a call, and drive cases through every path."""
    from app.cli_views import print_demo

    guarded(lambda: print_demo(services_from_env()))


@app.command("tasks", help="某用户的待办：未办结的工作项，最早到期的在前")
def tasks_cmd(user: Annotated[str, typer.Option("--user", help="用户名")]) -> None:
    """The user's inbox: open work items, oldest deadline first."""
    from app.cli_views import print_inbox

    guarded(lambda: print_inbox(services_from_env(), user))


@app.command(help="办理一个工作项：作出决定")
def complete(
    item: Annotated[int, typer.Argument(help="工作项编号（见 `smeflow tasks`）")],
    user: Annotated[str, typer.Option("--user", help="办理人的用户名")],
    decision: Annotated[str, typer.Option("--decision", help="决定：approve 通过、return 退回补正、reject 不予通过、"
                                                             "objection 异议、pay 拨付、resubmit 重新提交")],
    amount: Annotated[str | None, typer.Option("--amount", help="核定奖励金额，单位元（市局复审）")] = None,
    reason: Annotated[str | None, typer.Option("--reason", help="理由（退回、不予通过、异议等须填写）")] = None,
    reference: Annotated[str | None, typer.Option("--reference", help="支付凭证号（财政拨付）")] = None,
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


@app.command(help="每个案件办到哪一步")
def cases() -> None:
    """Where every case is."""
    from app.cli_views import print_cases

    guarded(lambda: print_cases(services_from_env()))


@app.command(help="立即执行一次期限检查：处理到期的计时器，标记逾期，升级督办")
def sweep() -> None:
    """Run the deadline sweep once, now: fire due timers, mark overdue work, escalate."""
    from services.awards.deadlines import sweep as run_sweep

    def body() -> None:
        services = services_from_env()
        report = run_sweep(services, services.clock.now())
        typer.echo(f"到期处理 {len(report.fired)} 项（涉及 {report.due_instances} 件申报）；"
                   f"升级督办工作项 {len(report.escalated)} 个")

    guarded(body)


@app.command(help="为每位经办人排队发送今天的待办提醒（仅工作日，每天一次）")
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


@outbox_app.command("send", help="立即发送待发邮件（SMTP 设置见 SMEFLOW_SMTP_*）")
def outbox_send() -> None:
    """Send the pending mail now (SMTP settings SMEFLOW_SMTP_*)."""
    from services.mail.outbox import send_pending

    def body() -> None:
        services = services_from_env()
        r = send_pending(services, services.clock.now())
        typer.echo(f"已发送 {r.sent} 封，稍后重试 {r.retried} 封，发送失败 {r.failed} 封，"
                   f"收回中断的发送 {r.reclaimed} 封")

    guarded(body)


@outbox_app.command("retry", help="把一封发送失败的邮件放回发送队列（记入审计）")
def outbox_retry(mail_id: Annotated[int, typer.Argument(help="发送失败的邮件编号")],
                 user: Annotated[str, typer.Option("--user", help="管理人员或系统管理员的用户名")]) -> None:
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


@app.command(help="各政策版本的奖励目录")
def awards(as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False) -> None:
    """The award catalogue of every loaded policy edition."""
    from app.cli_views import catalogue_json, print_awards

    def body() -> None:
        services = services_from_env()
        if as_json:
            typer.echo(json.dumps(catalogue_json(services.editions), ensure_ascii=False, indent=2))
        else:
            print_awards(services.editions)

    guarded(body)


@app.command(help="按计划运行后台任务（期限检查、提醒、邮件发送），直到按 Ctrl-C 或收到 SIGTERM；未设 "
                  "PREFECT_API_URL 时在本机启动 Prefect 服务器")
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


@app.command(help="把后台任务登记到 Prefect 工作池，供 `prefect worker start --pool` 运行；需要 PREFECT_API_URL")
def deploy(pool: Annotated[str, typer.Option("--pool", help="Prefect 工作池（process 类型）")]) -> None:
    """Register the flows with a Prefect work pool, for `prefect worker start --pool`. Needs PREFECT_API_URL."""
    from config.settings import get_settings
    from workflows.schedules import deploy_to_pool

    guarded(lambda: deploy_to_pool(get_settings(), pool))


@app.command(help="运行网页服务（页面和 /api/v1 下的 JSON 接口）；只信任 SMEFLOW_FORWARDED_ALLOW_IPS 所列代理的 "
                  "X-Forwarded-For/-Proto")
def serve(host: Annotated[str, typer.Option(help="监听地址")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="端口")] = 8000,
          workers: Annotated[int, typer.Option(help="工作进程数")] = 1) -> None:
    """Run the web service (uvicorn): pages and the JSON API under /api/v1. X-Forwarded-For/-Proto are
    trusted only from the proxies named by SMEFLOW_FORWARDED_ALLOW_IPS (none by default)."""
    import uvicorn

    from config.settings import get_settings

    proxies = guarded(lambda: get_settings().forwarded_allow_ips.strip())
    uvicorn.run("app.web.asgi:app", host=host, port=port, workers=workers, log_level="info",
                proxy_headers=bool(proxies), forwarded_allow_ips=proxies or None)


@bpmn_app.command("validate", help="检查流程图：每个文件报告通过，或逐条列出问题及其元素编号和行号")
def bpmn_validate(files: Annotated[list[Path], typer.Argument(help="BPMN/DMN 文件")]) -> None:
    """Check diagrams: per file, OK or each problem with its element id and line."""
    from services.engine.validate import validate_files

    results = validate_files(files)
    errors = 0
    for name, problems in results.items():
        found = [p for p in problems if p.severity == "error"]
        if not found:
            typer.echo(f"{name}：通过" + (f"（{len(problems)} 个警告）" if problems else ""))
        for p in problems:  # the finding itself is the validator's, quoting the diagram's ids and expressions
            where = f"{p.file}:{p.line}" if p.line else p.file
            where += f"（元素 {p.element_id}）" if p.element_id else " "
            typer.echo(f"{where}{'警告' if p.severity == 'warning' else '错误'}：{p.message}")
        errors += len(found)
    if errors:
        raise typer.Exit(1)


@app.command(help="运行网页服务并同时运行后台任务（即 `make run`），按设置启动本地邮件接收器；Ctrl-C 全部停止。后台"
                  "任务退出时网页服务随之停止，命令以 1 退出")
def up(host: Annotated[str, typer.Option(help="监听地址")] = "127.0.0.1",
       port: Annotated[int, typer.Option(help="端口")] = 8000) -> None:
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
