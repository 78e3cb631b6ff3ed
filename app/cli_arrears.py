"""`smeflow arrears ...`: the arrears-clearance campaign (measure 10).

Every command answers bad input with one line naming the field and the rule and a non-zero exit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli_arrears_confirm import Contract, Creditor, CreditorName, Debtor, confirmation_app
from app.cli_common import fail, guarded, input_file, output_file, services_from_env

arrears_app = typer.Typer(help="清理拖欠中小企业账款（第十项措施）", no_args_is_help=True)
debtors_app = typer.Typer(help="债务人名录", no_args_is_help=True)
arrears_app.add_typer(debtors_app, name="debtors")
arrears_app.add_typer(confirmation_app, name="confirmation")


def _fen(value: int) -> str:
    from services.money import yuan

    return yuan(value)


def _rules_text(code: str) -> str:
    """`2020 年条例（国务院令第728号）`, as the case page names the rules a due date follows."""
    from services.arrears.rules import load_rules

    edition = next((e for e in load_rules().editions if e.code == code), None)
    return f" {edition.code} 年条例（{edition.order}）" if edition else "合同约定"


@arrears_app.command("import", help="导入清欠台账：任一行有误则不导入（`--partial` 除外）；同一文件重复导入不会重复"
                                    "登记")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="台账，.csv 或 .xlsx")],
    partial: Annotated[bool, typer.Option("--partial", help="只导入有效行，其余报告错误")] = False,
    user: Annotated[str, typer.Option("--user", help="导入人用户名（记入审计链）")] = "bureau",
) -> None:
    """Import a ledger: nothing unless every row is valid (or --partial); the same file twice adds nothing."""
    from services.arrears.ledger_import import import_ledger

    def body() -> None:
        input_file(file)
        services = services_from_env()
        with services.uow() as uow:
            report = import_ledger(uow, services, content=file.read_bytes(), filename=file.name, actor=user,
                                   now=services.clock.now(), partial=partial)
            uow.commit()
        for error in report.errors[:50]:
            typer.echo(str(error))
        if report.error_count > 50:
            typer.echo(f"……另有 {report.error_count - 50} 处错误未列出")
        typer.echo(f"{file.name}：共 {report.rows} 行；新建案件 {report.created} 件，此前已导入 {report.existing} 件，"
                   f"未通过校验 {report.rejected} 行")
        if report.error_count and not partial:
            fail(f"共 {report.error_count} 处错误，未导入任何数据（加 `--partial` 可只导入校验通过的行）")

    guarded(body)


@arrears_app.command(help="生成月度台账报表（XLSX）并打印合计")
def report(
    month: Annotated[str, typer.Option("--month", help="月份，YYYY-MM")],
    out: Annotated[Path | None, typer.Option(
        "--out", help="XLSX 文件（默认 <data_dir>/reports/arrears-YYYY-MM.xlsx）")] = None,
) -> None:
    """The monthly ledger report as XLSX, and its totals."""
    from services.arrears.report import build_report, xlsx_bytes

    def body() -> None:
        if out is not None:
            output_file(out, suffix=".xlsx", kind="报表", default=out)
        services = services_from_env()
        with services.uow() as uow:
            result = build_report(uow.session, month=month, tz=services.settings.timezone)
        target = output_file(out, suffix=".xlsx", kind="报表",
                             default=Path(services.settings.data_dir) / "reports" / f"arrears-{result.month}.xlsx")
        target.write_bytes(xlsx_bytes(result))
        t = result.totals
        typer.echo(f"{result.month}（截至 {result.as_of}）：共 {t['cases']} 件，欠款 {_fen(t['owed_fen'])} 元，"
                   f"已清偿 {_fen(t['repaid_fen'])} 元，未清偿 {_fen(t['outstanding_fen'])} 元，"
                   f"逾期利息 {_fen(t['interest_fen'])} 元")
        typer.echo(f"已写入 {target}")

    guarded(body)


@arrears_app.command(help="清欠台账：每个案件办到哪一步，最新的在前")
def cases(
    status: Annotated[str | None, typer.Option(help="状态，或 active（办理中）")] = None,
    department: Annotated[str | None, typer.Option(help="处理部门代码")] = None,
    kind: Annotated[str | None, typer.Option(help="债务人类型：government 机关 | institution 事业单位 | "
                                                  "large_enterprise 大型企业 | organisation 其他组织")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="只列有事项超过办理期限的案件")] = False,
    limit: Annotated[int, typer.Option(help="显示的行数")] = 50,
) -> None:
    """The campaign ledger: where every case is, newest first."""
    from app.cli_views import clip, table
    from services.arrears.ledger import STATUS_NAMES, LedgerFilters, ledger_page
    from services.arrears.registry import department_names
    from services.db.models import User

    def body() -> None:
        services = services_from_env()
        with services.uow() as uow:
            page = ledger_page(uow.session, User(role="manager", username="cli"), limit=limit,
                               filters=LedgerFilters(kind=kind, department=department, status=status,
                                                     overdue=overdue))
            names = department_names(uow.session)
        table(["编号", "状态", "环节", "债权企业", "债务人", "处理部门", "欠款(元)", "未清偿(元)", "逾期"],
              [[str(r.id), STATUS_NAMES.get(r.status, r.status), clip(r.stage_name, 28), clip(r.creditor_name, 32),
                clip(r.debtor_name, 32), clip(names.get(r.department_code, r.department_code), 28), _fen(r.owed_fen),
                _fen(r.outstanding_fen), "超期" if r.step_overdue else ""] for r in page.rows])
        t = page.totals
        typer.echo(f"共 {page.total} 件；欠款 {_fen(t['owed'])} 元，已清偿 {_fen(t['repaid'])} 元，"
                   f"未清偿 {_fen(t['outstanding'])} 元")

    guarded(body)


@arrears_app.command(help="登记投诉：省级受理投诉部门转办的直接交处理部门；市里按本地安排受理的（或台账导入的）先经"
                          "受理审查（10 个工作日）")
def register(
    creditor: Creditor,
    creditor_name: CreditorName,
    debtor: Debtor,
    contract: Contract,
    signed: Annotated[str, typer.Option(help="合同签订日期，YYYY-MM-DD")],
    delivered: Annotated[str, typer.Option(help="交付日期，YYYY-MM-DD")],
    amount: Annotated[str, typer.Option(help="欠款金额，单位元")],
    accepted: Annotated[str | None, typer.Option(help="验收日期，YYYY-MM-DD（约定验收时）")] = None,
    agreed_days: Annotated[str | None, typer.Option(help="约定付款期限，天")] = None,
    agreed_rate: Annotated[str | None, typer.Option(help="约定逾期利率，年百分比")] = None,
    inspection_due: Annotated[str | None, typer.Option(
        help="约定检验期限的最后一天，YYYY-MM-DD（检验拖延时自此起算付款期限）")] = None,
    settled: Annotated[str | None, typer.Option(help="结算确认日期，YYYY-MM-DD")] = None,
    debtor_kind: Annotated[str | None, typer.Option(
        help="签订时债务人的类型：government | institution | large_enterprise | organisation | sme")] = None,
    special_days: Annotated[str | None, typer.Option(help="特别法规定的付款期限，天")] = None,
    special_basis: Annotated[str | None, typer.Option(help="该法律及条款")] = None,
    intake: Annotated[str | None, typer.Option(
        help="投诉来源：province（省级受理投诉部门转办）| arrangement（市里按本地安排受理，"
             "须设置 arrears_acceptance_arrangement）| ledger（台账）；默认：给了 --transfer-* 选项时为 province，"
             "否则为 arrangement")] = None,
    transfer_from: Annotated[str | None, typer.Option(help="转办的受理投诉部门")] = None,
    transfer_document: Annotated[str | None, typer.Option(help="转办文书文号")] = None,
    complaint_accepted: Annotated[str | None, typer.Option(help="受理投诉部门受理日期")] = None,
    transferred: Annotated[str | None, typer.Option(help="转交日期")] = None,
    received: Annotated[str | None, typer.Option(
        help="处理部门收到转办材料的日期（办理期限自此起算）")] = None,
    user: Annotated[str, typer.Option("--user", help="办理人用户名")] = "bureau",
) -> None:
    """Register a complaint: a provincial transfer goes straight to the handling department; a complaint the city
    accepts under the local arrangement (or a ledger row) waits for the acceptance review (10 working days)."""
    from services.arrears.intake import register as register_case

    def body() -> None:
        services = services_from_env()
        record = {"creditor_uscc": creditor, "creditor_name": creditor_name, "debtor_uscc": debtor,
                  "contract_no": contract, "signed_on": signed, "delivered_on": delivered, "amount": amount,
                  "accepted_on": accepted, "agreed_days": agreed_days, "agreed_rate": agreed_rate,
                  "inspection_due_on": inspection_due, "settled_on": settled, "debtor_kind": debtor_kind,
                  "special_term_days": special_days, "special_term_basis": special_basis, "intake": intake,
                  "transfer_from": transfer_from, "transfer_document": transfer_document,
                  "complaint_accepted_on": complaint_accepted, "transferred_on": transferred, "received_on": received}
        with services.uow() as uow:
            case = register_case(uow, services, record=record, actor=user, now=services.clock.now())
            uow.commit()
        from services.arrears.rules import load_rules
        from services.arrears.statute import due_of_case
        from services.time.due import day_text

        due = due_of_case(load_rules(), services.calendar, case)
        mark = "（暂定：该年节假日安排未公布，补假、调休未计）" if due is not None and due.provisional else ""
        typer.echo(f"案件 {case.id} 已登记；应付日期 {day_text(case.due_on)}{mark}，依据{_rules_text(case.rules)}")

    guarded(body)


@arrears_app.command("tasks", help="某用户未办结的清欠事项，最早到期的在前")
def tasks_cmd(user: Annotated[str, typer.Option("--user", help="用户名")]) -> None:
    """A user's open arrears steps, oldest deadline first."""
    from app.cli_views import table
    from services.accounts.users import get_user
    from services.arrears.actions import inbox
    from services.time.due import deadline_text

    def body() -> None:
        services = services_from_env()
        now = services.clock.now()
        with services.uow() as uow:
            steps = inbox(uow.session, get_user(uow.session, user))
        if not steps:
            typer.echo(f"{user}：没有待办事项")
            return
        table(["事项编号", "案件编号", "环节", "办理期限"],
              [[str(step.id), str(step.case_id), step.name,
                deadline_text(step.due_at, now, services.settings.timezone, services.calendar)
                + ("（暂定）" if step.due_provisional else "") if step.due_at else "-"] for step in steps])

    guarded(body)


@arrears_app.command(help="办理一个清欠事项（字段：amount、extension_until、instalments、paid_on、reference、"
                          "document_no 等）")
def act(
    step: Annotated[int, typer.Argument(help="事项编号（见 `smeflow arrears tasks`）")],
    user: Annotated[str, typer.Option("--user", help="办理人用户名")],
    decision: Annotated[str, typer.Option("--decision", help="此事项可作的决定之一")],
    reason: Annotated[str | None, typer.Option("--reason", help="理由")] = None,
    field: Annotated[list[str] | None, typer.Option("--field", help="字段=值，如 amount=12000")] = None,
) -> None:
    """Decide an open step (fields: amount, extension_until, instalments, paid_on, reference, document_no...)."""
    from services.arrears.actions import DECISION_NAMES, Step
    from services.arrears.actions import act as act_step

    def body() -> None:
        fields: dict[str, str] = {}
        for item in field or []:
            name, sep, value = item.partition("=")
            if not sep:
                fail(f"`--field {item}`：格式应为 字段=值，例如 `amount=12000`")
            fields[name.strip()] = value
        services = services_from_env()
        with services.uow() as uow:
            done = act_step(uow, services, task_id=step, username=user, now=services.clock.now(),
                            step=Step(decision, reason, fields))
            uow.commit()
        typer.echo(f"案件 {done.case_id} 的事项 {done.id}（{done.name}）已办理："
                   f"{DECISION_NAMES.get(decision, decision)}")

    guarded(body)


@arrears_app.command(help="立即处理一次清欠案件到期的计时器")
def sweep() -> None:
    """Fire the due timers of arrears cases once, now."""
    from services.arrears.sweep import sweep as run

    def body() -> None:
        services = services_from_env()
        r = run(services, services.clock.now())
        typer.echo(f"到期处理 {len(r.fired)} 项（涉及 {r.due_cases} 件案件）；新逾期的受理审查 {r.marked_overdue} 件")

    guarded(body)


@arrears_app.command(help="排队发送今天的待办提醒和督办邮件（仅工作日）")
def remind() -> None:
    """Queue today's reminder digests and 督办 mails (working days only)."""
    from services.arrears.campaign import remind as run

    def body() -> None:
        services = services_from_env()
        r = run(services, services.clock.now())
        typer.echo(f"已排队发送待办提醒 {r.digests} 封、督办邮件 {r.escalated} 封、确权提醒 {r.confirmations} 封"
                   if r.working_day else "今天不是工作日：不发送提醒")

    guarded(body)


@arrears_app.command(help="生成上月报表并发送给管理人员（每月第一个工作日）")
def monthly(force: Annotated[bool, typer.Option("--force", help="今天不是本月第一个工作日也生成")] = False) -> None:
    """The previous month's report and the managers' mail (on the first working day of a month)."""
    from services.arrears.campaign import monthly as run

    def body() -> None:
        services = services_from_env()
        r = run(services, services.clock.now(), force=force)
        typer.echo(f"{r.month} 月报已写入 {r.path}；邮件{'已排队发送' if r.mailed else '此前已发送'}"
                   if r.ran else "今天不是本月第一个工作日：不生成月报（加 `--force` 可立即生成）")

    guarded(body)


@arrears_app.command(help="记录市中小企业局对案件采取的措施（2025 年条例第二十三条），不经投诉流程")
def oversee(
    case_id: Annotated[int, typer.Argument(help="案件编号")],
    kind: Annotated[str, typer.Option(
        "--kind", help="措施：inquiry 函询 | summons 约谈 | supervision 督办 | notice 通报")],
    document_no: Annotated[str, typer.Option("--document-no", help="文书或记录编号")],
    reason: Annotated[str, typer.Option("--reason", help="市中小企业局采取措施的理由")],
    user: Annotated[str, typer.Option("--user", help="办理人用户名")] = "bureau",
) -> None:
    """Record a measure of the city SME bureau on a case (2025 第二十三条), outside the complaint route."""
    from services.arrears.oversight import KINDS, record_measure
    from services.time.due import day_text

    def body() -> None:
        services = services_from_env()
        with services.uow() as uow:
            row = record_measure(uow, services, case_id=case_id, kind=kind, document_no=document_no, reason=reason,
                                 actor=user, now=services.clock.now())
            uow.commit()
        typer.echo(f"案件 {case_id}：已记录{KINDS[row.kind]} {row.document_no}（{day_text(row.acted_on)}）")

    guarded(body)


@arrears_app.command(help="公开 YEAR 年机关、事业单位逾期未付的合同，须于次年 3月31日前公开（2025 年条例第十八条）")
def disclosure(
    year: Annotated[int, typer.Option("--year", help="公开的年度（次年 3月31日前公开）")],
    out: Annotated[Path | None, typer.Option(
        "--out", help="XLSX 文件（默认 <data_dir>/reports/arrears-disclosure-YYYY.xlsx）")] = None,
) -> None:
    """The public debtors' overdue unpaid contracts of YEAR, which they publish by 3月31日 (2025 第十八条)."""
    from services.arrears.disclosure import build_disclosure, disclosure_xlsx

    def body() -> None:
        from app.cli_views import table

        if out is not None:
            output_file(out, suffix=".xlsx", kind="公示表", default=out)
        services = services_from_env()
        with services.uow() as uow:
            result = build_disclosure(uow.session, year=year)
        table(["统一社会信用代码", "债务人", "逾期未付合同数", "逾期未付金额(元)"],
              [[r.debtor_uscc, r.debtor_name, str(r.contracts), _fen(r.outstanding_fen)] for r in result.rows])
        typer.echo(f"{result.year} 年（截至 {result.as_of}，须于 {result.publish_by} 前公开）："
                   f"债务人 {len(result.rows)} 个，合同 {result.contracts} 份，金额 {_fen(result.total_fen)} 元")
        target = output_file(out, suffix=".xlsx", kind="公示表", default=Path(services.settings.data_dir) / "reports"
                             / f"arrears-disclosure-{result.year}.xlsx")
        target.write_bytes(disclosure_xlsx(result))
        typer.echo(f"已写入 {target}")

    guarded(body)


@arrears_app.command(help="让一个用户代表某处理部门办理清欠案件")
def officer(
    username: Annotated[str, typer.Argument(help="用户名")],
    department: Annotated[str, typer.Argument(help="处理部门代码")],
    head: Annotated[bool, typer.Option("--head", help="部门负责人（审批延期）")] = False,
) -> None:
    """Let a user act for a handling department."""
    from services.arrears.registry import add_officer, department_names

    def body() -> None:
        services = services_from_env()
        with services.uow() as uow:
            add_officer(uow.session, username=username, department=department, head=head, actor="cli",
                        now=services.clock.now())
            name = department_names(uow.session).get(department, department)
            uow.commit()
        typer.echo(f"{username} 可代表{name}办理清欠案件" + ("（部门负责人，审批延期）" if head else ""))

    guarded(body)


@debtors_app.command("import", help="从 CSV 文件登记债务人（全部成功或全部不登记）")
def debtors_import(file: Annotated[Path, typer.Argument(help="CSV 文件，列为：uscc,name,kind,department")],
                   ) -> None:
    """Register debtors from a CSV file (all or nothing)."""
    from services.arrears.registry import import_debtors

    def body() -> None:
        input_file(file)
        services = services_from_env()
        with services.uow() as uow:
            added = import_debtors(uow.session, content=file.read_bytes(), actor="cli", now=services.clock.now())
            uow.commit()
        typer.echo(f"已登记债务人 {len(added)} 个")

    guarded(body)


@debtors_app.command("list", help="债务人名录：类型和处理部门")
def debtors_list() -> None:
    """The debtor registry with each debtor's kind and handling department."""
    from app.cli_views import table
    from services.arrears.registry import department_names, list_debtors
    from services.arrears.statute import KIND_NAMES

    def body() -> None:
        services = services_from_env()
        with services.uow() as uow:
            names = department_names(uow.session)
            rows = [[d.uscc, KIND_NAMES[d.kind], names.get(d.department_code, d.department_code), d.name]
                    for d in list_debtors(uow.session)]
        table(["统一社会信用代码", "类型", "处理部门", "债务人"], rows)

    guarded(body)


@arrears_app.command(help="在 `smeflow demo` 之上载入清欠演示数据：经办人、债务人和四件案件")
def demo() -> None:
    """Campaign demo data on top of `smeflow demo`: officers, debtors and four cases."""
    from services.arrears.demo import ArrearsDemo

    def body() -> None:
        services: Any = services_from_env()
        cases_loaded = ArrearsDemo(services, echo=True, say=typer.echo).load()
        typer.echo(f"清欠演示：{len(cases_loaded)} 件案件" if cases_loaded else "清欠演示数据已存在")

    guarded(body)
