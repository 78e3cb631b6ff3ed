"""The monthly ledger report: its totals equal the sum of the cases; the XLSX and the managers' mail,
once, on the first working day of the month; the campaign's reminders and 督办 mail."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal

from openpyxl import load_workbook
from sqlalchemy import func, select

from services.arrears import campaign as runs
from services.arrears.ledger import owed_expr
from services.arrears.report import build_report, xlsx_bytes
from services.arrears.rules import load_rules
from services.arrears.statute import late_interest
from services.db.models_arrears import ArrearsCase, ArrearsRepayment
from services.db.models_mail import OutboxMail
from tests.arrears.conftest import Campaign


def populate(c: Campaign) -> dict[str, int]:
    """Cases in every state, with repayments on both sides of the end of June 2024."""
    ids = {
        "cleared": c.register(n=1, amount="50000"),
        "paying": c.register(n=2, amount="80000", agreed_rate="4.35"),
        "split": c.register(n=3, amount="30000", debtor="school"),
        "refused": c.register(n=4, amount="9000"),
        "waiting": c.register(n=5, amount="12345.67", creditor_name="=HYPERLINK(\"http://x\")"),
    }
    c.to_repayment(ids["cleared"], found="50000", plan="2024-06-20=50000")
    c.to_repayment(ids["paying"], found="80000", plan="2024-06-20=30000; 2024-08-20=50000")
    c.to_handling(ids["split"])
    c.act(ids["split"], "handle", "handler", "result", amount="30000")
    c.act(ids["split"], "debtor_confirmation", "handler", "partial", amount="20000")
    c.act(ids["split"], "dispute_route", "handler", "court")
    c.act(ids["refused"], "acceptance_review", "bureau", "refuse", "重复投诉")
    c.at(datetime(2024, 6, 20, 10, 0))
    c.act(ids["cleared"], "record_repayment", "handler", "repaid", amount="50000", paid_on="2024-06-20",
          reference="A")
    c.act(ids["cleared"], "verify_clearance", "bureau", "close")
    c.act(ids["paying"], "record_repayment", "handler", "repaid", amount="30000", paid_on="2024-06-20",
          reference="B")
    c.at(datetime(2024, 7, 2, 10, 0))
    c.act(ids["paying"], "record_repayment", "handler", "repaid", amount="10000", paid_on="2024-07-02",
          reference="C")  # after the end of June: not in June's report
    return ids


def test_totals_equal_the_sum_of_the_cases(campaign: Campaign) -> None:
    c = campaign
    ids = populate(c)
    rules = load_rules()
    with c.services.uow() as uow:
        s = uow.session
        report = build_report(s, month="2024-06", tz="Asia/Shanghai")
        # the same figures, straight from the cases
        owed = dict(s.execute(select(ArrearsCase.id, owed_expr())).all())
        repaid = dict(s.execute(select(ArrearsRepayment.case_id, func.sum(ArrearsRepayment.amount_fen))
                                .where(ArrearsRepayment.paid_on <= date(2024, 6, 30))
                                .group_by(ArrearsRepayment.case_id)).all())
        interest = 0
        for case in s.scalars(select(ArrearsCase)):
            paid = [(r.paid_on, r.amount_fen) for r in s.scalars(select(ArrearsRepayment).where(
                ArrearsRepayment.case_id == case.id, ArrearsRepayment.paid_on <= date(2024, 6, 30)))]
            interest += late_interest(rules, principal_fen=owed[case.id], due_on=case.due_on,
                                      signed_on=case.signed_on, agreed_rate_ppm=case.agreed_rate_ppm,
                                      repayments=paid, as_of=date(2024, 6, 30)).fen
    totals = report.totals
    assert totals["cases"] == 5
    assert totals["claimed_fen"] == 5_000_000 + 8_000_000 + 3_000_000 + 900_000 + 1_234_567
    assert totals["owed_fen"] == sum(owed.values()) == 5_000_000 + 8_000_000 + 2_000_000 + 0 + 1_234_567
    assert totals["repaid_fen"] == sum(repaid.values()) == 8_000_000
    assert totals["outstanding_fen"] == sum(max(0, owed[i] - repaid.get(i, 0)) for i in owed) == 8_234_567
    assert totals["disputed_fen"] == 1_000_000
    assert totals["interest_fen"] == interest > 0
    assert report.repaid_in_month_fen == 8_000_000 and report.new_cases == 5
    row = {r.case_id: r for r in report.rows}
    assert row[ids["paying"]].outstanding_fen == 5_000_000 and row[ids["paying"]].overdue_days == 90  # due 04-01
    assert row[ids["refused"]].overdue_days == 0 and row[ids["refused"]].interest_fen == 0
    # the workbook's totals row is the same sum, in exact yuan
    book = load_workbook(io.BytesIO(xlsx_bytes(report)))
    sheet = book.worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    header, *cases, last = values
    assert last[0] == "合计" and len(cases) == 5
    for i, key in ((11, "claimed_fen"), (12, "owed_fen"), (13, "repaid_fen"), (14, "outstanding_fen"),
                   (17, "interest_fen")):
        assert Decimal(str(last[i])) == Decimal(totals[key]) / 100, header[i]
        assert sum(Decimal(str(r[i])) for r in cases) == Decimal(totals[key]) / 100
    names = [r[1] for r in cases]
    assert "'=HYPERLINK(\"http://x\")" in names  # a formula in a name is written as text


def test_monthly_run_on_the_first_working_day_once(campaign: Campaign) -> None:
    c = campaign
    populate(c)
    c.at(datetime(2024, 10, 7, 8, 0))  # the National Day week: no working day yet in October
    assert not runs.monthly(c.services, c.now()).ran
    c.at(datetime(2024, 10, 8, 8, 0))  # the first working day of October 2024
    run = runs.monthly(c.services, c.now())
    assert run.ran and run.mailed and run.month == "2024-09"
    assert run.path is not None and run.path.name == "arrears-2024-09.xlsx" and run.path.exists()
    assert not runs.monthly(c.services, c.now()).mailed  # a retried run mails nothing twice
    c.at(datetime(2024, 10, 9, 8, 0))
    assert not runs.monthly(c.services, c.now()).ran
    with c.services.uow() as uow:
        mails = uow.session.scalars(select(OutboxMail).where(OutboxMail.template == "arrears_monthly")).all()
    assert len(mails) == 1 and mails[0].recipients == ["manager@example.test"]
    assert "2024-09" in mails[0].subject and "未清偿" in mails[0].text_body
    assert "arrears-2024-09.xlsx" in mails[0].text_body


def test_reminders_and_escalation(campaign: Campaign) -> None:
    c = campaign
    cid = c.register()
    c.to_handling(cid)  # the handling result is due on 2024-07-03
    c.at(datetime(2024, 7, 2, 9, 0))
    report = runs.remind(c.services, c.now())
    assert report.working_day and report.digests >= 1 and report.escalated == 0
    c.at(datetime(2024, 7, 6, 9, 0))  # a Saturday
    assert not runs.remind(c.services, c.now()).working_day
    c.at(datetime(2024, 7, 9, 9, 0))  # 4 working days late
    c.sweep()
    report = runs.remind(c.services, c.now())
    assert report.escalated == 1
    assert runs.remind(c.services, c.now()).escalated == 0  # once per step
    with c.services.uow() as uow:
        mails = uow.session.scalars(select(OutboxMail).where(OutboxMail.template.like("arrears_%"))
                                    .order_by(OutboxMail.id)).all()
    escalation = [m for m in mails if m.template == "arrears_escalated"]
    assert len(escalation) == 1 and set(escalation[0].recipients) == {"head@example.test", "manager@example.test"}
    assert "核查处理" in escalation[0].subject
    digests = [m for m in mails if m.template == "arrears_digest"]
    assert {tuple(m.recipients) for m in digests} >= {("handler@example.test",), ("head@example.test",)}
    assert any("已超期" in m.text_body and f"案件 {cid}" in m.text_body for m in digests)


def test_a_pre_lpr_contract_with_an_agreed_rate_is_reported_with_its_interest(campaign: Campaign) -> None:
    c = campaign
    # signed before the regulation and before the reformed LPR: the agreed term and rate apply
    cid = c.register(signed_on="2019-03-01", delivered_on="2019-04-01", agreed_days="30", agreed_rate="6")
    # 30 days end on 05-01, Labour Day (05-01..05-04 off); Sunday 05-05 was a swapped working day
    assert c.case(cid).due_on == date(2019, 5, 5)
    with c.services.uow() as uow:
        report = build_report(uow.session, month="2024-06", tz="Asia/Shanghai")
    row = next(r for r in report.rows if r.case_id == cid)
    # 100,000 x 6 % / 360 x (2019-05-05 .. 2024-06-30: 1883 days) = 31,383.333... -> 31,383.33 yuan
    assert (row.overdue_days, row.interest_fen) == (1883, 3_138_333)
