"""`smeflow arrears confirmation …`: 确权 requests of SMEs that finance a receivable (2025 第十六条第二款),
apart from complaints."""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli_common import guarded, services_from_env

# the options naming a contract's parties, shared with `smeflow arrears register`
Creditor = Annotated[str, typer.Option(help="中小企业的统一社会信用代码")]
CreditorName = Annotated[str, typer.Option(help="中小企业名称")]
Debtor = Annotated[str, typer.Option(help="债务人的统一社会信用代码（须已登记）")]
Contract = Annotated[str, typer.Option(help="合同编号")]

confirmation_app = typer.Typer(help="中小企业以应收账款融资的确权请求（30 日）", no_args_is_help=True)


@confirmation_app.command("request", help="登记确权请求；债务人须在请求之日起 30 日内确认")
def request_cmd(
    creditor: Creditor,
    creditor_name: CreditorName,
    debtor: Debtor,
    contract: Contract,
    amount: Annotated[str, typer.Option(help="待确认的应收账款，单位元")],
    financing: Annotated[str, typer.Option(help="以应收账款融资的方式和对象")],
    requested: Annotated[str, typer.Option(help="企业提出请求的日期，YYYY-MM-DD")],
    user: Annotated[str, typer.Option("--user", help="登记人用户名")] = "bureau",
) -> None:
    """Record a 确权 request; the debtor confirms within 30 days of it."""
    from services.arrears.confirmation import request_confirmation
    from services.time.due import day_text

    def body() -> None:
        services = services_from_env()
        record = {"creditor_uscc": creditor, "creditor_name": creditor_name, "debtor_uscc": debtor,
                  "contract_no": contract, "amount": amount, "financing": financing, "requested_on": requested}
        with services.uow() as uow:
            row = request_confirmation(uow, services, record=record, actor=user, now=services.clock.now())
            uow.commit()
        mark = "（暂定：该年节假日安排未公布）" if row.due_provisional else ""
        typer.echo(f"确权请求 {row.id} 已登记：债务人须于 {day_text(row.due_on)}前确认{mark}（{row.article}）")

    guarded(body)


@confirmation_app.command("answer", help="登记债务人对确权请求的答复")
def answer_cmd(
    request_id: Annotated[int, typer.Argument(help="确权请求编号")],
    outcome: Annotated[str, typer.Option(help="处理结果：confirmed 确认 | partial 部分确认 | disputed 不予确认")],
    answered: Annotated[str, typer.Option(help="债务人答复日期，YYYY-MM-DD")],
    amount: Annotated[str | None, typer.Option(help="确认金额，单位元（仅部分确认时）")] = None,
    user: Annotated[str, typer.Option("--user", help="登记人用户名")] = "bureau",
) -> None:
    """Record the debtor's answer to a 确权 request."""
    from services.arrears.confirmation import OUTCOMES, answer_confirmation
    from services.time.due import day_text

    def body() -> None:
        services = services_from_env()
        with services.uow() as uow:
            row = answer_confirmation(uow, services, request_id=request_id, outcome=outcome, confirmed_amount=amount,
                                      answered_on=answered, actor=user, now=services.clock.now())
            uow.commit()
        on = day_text(row.answered_on) if row.answered_on is not None else "—"
        late = (f"；逾期答复（应于 {day_text(row.due_on)}前确认）"
                if row.answered_on is not None and row.answered_on > row.due_on else "")
        typer.echo(f"确权请求 {row.id}：{OUTCOMES.get(str(row.outcome), str(row.outcome))}，答复日期 {on}{late}")

    guarded(body)


@confirmation_app.command("list", help="尚未答复的确权请求，确认期限最早的在前")
def list_cmd() -> None:
    """Requests not answered yet, oldest due date first."""
    from services.arrears.confirmation import open_confirmations
    from services.time.due import day_text

    def body() -> None:
        services = services_from_env()
        with services.uow() as uow:
            rows = open_confirmations(uow)
            for r in rows:
                mark = "（暂定：该年节假日安排未公布）" if r.due_provisional else ""
                typer.echo(f"{r.id}  {r.creditor_name}  合同 {r.contract_no}  请求日期 {day_text(r.requested_on)}  "
                           f"确认期限 {day_text(r.due_on)}前{mark}")
        if not rows:
            typer.echo("没有待答复的确权请求")

    guarded(body)
