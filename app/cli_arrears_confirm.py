"""`smeflow arrears confirmation …`: 确权 requests of SMEs that finance a receivable (2025 第十六条第二款),
apart from complaints."""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli_common import guarded, services_from_env

confirmation_app = typer.Typer(help="确权 requests of SMEs financing a receivable (30 days)", no_args_is_help=True)


@confirmation_app.command("request")
def request_cmd(
    creditor: Annotated[str, typer.Option(help="the SME's credit code")],
    creditor_name: Annotated[str, typer.Option(help="the SME's name")],
    debtor: Annotated[str, typer.Option(help="the debtor's credit code (registered debtor)")],
    contract: Annotated[str, typer.Option(help="contract number")],
    amount: Annotated[str, typer.Option(help="receivable to confirm, yuan")],
    financing: Annotated[str, typer.Option(help="how and with whom the receivable is financed")],
    requested: Annotated[str, typer.Option(help="day the SME made the request, YYYY-MM-DD")],
    user: Annotated[str, typer.Option("--user")] = "bureau",
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


@confirmation_app.command("answer")
def answer_cmd(
    request_id: Annotated[int, typer.Argument(help="request number")],
    outcome: Annotated[str, typer.Option(help="confirmed | partial | disputed")],
    answered: Annotated[str, typer.Option(help="day of the debtor's answer, YYYY-MM-DD")],
    amount: Annotated[str | None, typer.Option(help="amount confirmed, yuan (partial only)")] = None,
    user: Annotated[str, typer.Option("--user")] = "bureau",
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


@confirmation_app.command("list")
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
