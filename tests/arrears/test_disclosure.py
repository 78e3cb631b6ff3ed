"""The annual disclosure (机关、事业单位 publish the past year's overdue unpaid payments by 3月31日: 2020
第十六条第一款, 2025 第十八条第一款) and its reminder, with figures worked by hand."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import app
from services.arrears.disclosure import build_disclosure, disclosure_xlsx, remind_disclosure
from services.bootstrap import Services
from services.db.models import OutboxMail
from services.db.models_arrears import ArrearsRepayment
from tests.arrears.conftest import Campaign, build_campaign
from tests.conftest import point_env_at


@pytest.fixture
def ledger(services: Services) -> Campaign:
    c = build_campaign(services)
    # gov: delivered 2024-03-01, due Mon 2024-04-01; 100,000.00 claimed, 30,000.00 repaid on 2024-06-01 and
    # 20,000.00 on 2025-01-15 (after the year end): 70,000.00 overdue and unpaid at 2024-12-31.
    gov = c.register(n=1)
    # school: delivered Mon 2024-11-25, due Wed 2024-12-25: 50,000.00 overdue at the year end.
    c.register(n=2, debtor="school", delivered_on="2024-11-25", amount="50000")
    # school: delivered Sun 2024-12-01, due Tue 2024-12-31 itself: not yet overdue in 2024.
    c.register(n=3, debtor="school", delivered_on="2024-12-01", amount="8000")
    # a large enterprise does not publish under 第十八条.
    c.register(n=4, debtor="big", signed_on="2024-01-10", delivered_on="2024-03-01", agreed_days="30")
    with services.uow() as uow:
        uow.session.add_all([
            ArrearsRepayment(case_id=gov, paid_on=date(2024, 6, 1), amount_fen=3_000_000, reference="R1",
                             recorded_at=c.now(), recorded_by="handler"),
            ArrearsRepayment(case_id=gov, paid_on=date(2025, 1, 15), amount_fen=2_000_000, reference="R2",
                             recorded_at=c.now(), recorded_by="handler")])
        uow.commit()
    return c


def test_the_disclosure_of_2024_lists_the_public_debtors_overdue_at_the_year_end(ledger: Campaign) -> None:
    with ledger.services.uow() as uow:
        report = build_disclosure(uow.session, year=2024)
    assert [(r.debtor_name, r.kind, r.contracts, r.outstanding_fen) for r in report.rows] == [
        ("债务人-gov", "机关", 1, 7_000_000), ("债务人-school", "事业单位", 1, 5_000_000)]
    assert (report.contracts, report.total_fen, report.publish_by) == (2, 12_000_000, date(2025, 3, 31))
    # due 2025-03-31, before the 2025 text took effect (2025-06-01): 2020 第十六条第一款 governs
    assert report.article == "国务院令第728号《保障中小企业款项支付条例》第十六条第一款"
    sheet = load_workbook(io.BytesIO(disclosure_xlsx(report))).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][4:] == ("逾期尚未支付的合同数", "逾期尚未支付金额（元）")
    assert rows[-1][0] == "合计" and rows[-1][4] == 2 and Decimal(str(rows[-1][5])) == Decimal("120000")


def test_the_reminder_goes_before_march_31_on_working_days_once_per_reminder_date(ledger: Campaign) -> None:
    s = ledger.services

    def mails() -> list[OutboxMail]:
        with s.uow() as uow:
            return list(uow.session.scalars(select(OutboxMail).where(OutboxMail.template == "arrears_disclosure")))

    ledger.at(datetime(2025, 3, 1, 9))  # Saturday, 30 days before: not a working day
    assert not remind_disclosure(s, s.clock.now()).ran
    ledger.at(datetime(2025, 3, 3, 9))  # Monday: the first working day on or after 03-01
    first = remind_disclosure(s, s.clock.now())
    assert (first.ran, first.year, first.mails) == (True, 2024, 1)  # both debtors are donghu's
    assert remind_disclosure(s, s.clock.now()).mails == 0  # once
    [mail] = mails()
    assert {"handler@example.test", "head@example.test", "manager@example.test"} <= set(mail.recipients)
    assert "2024年度" in mail.subject and "70,000.00" in mail.text_body and "第十六条第一款" in mail.text_body
    ledger.at(datetime(2025, 3, 21, 9))  # Friday, 10 days before: the second reminder
    assert remind_disclosure(s, s.clock.now()).mails == 1
    ledger.at(datetime(2025, 4, 1, 9))  # past the date: nothing
    assert not remind_disclosure(s, s.clock.now()).ran
    assert len(mails()) == 2


def test_cli_prints_the_figures_and_refuses_a_bad_year(ledger: Campaign, monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path) -> None:  # type: ignore[no-untyped-def]
    point_env_at(ledger.services, monkeypatch)
    out = tmp_path / "d.xlsx"
    ok = CliRunner().invoke(app, ["arrears", "disclosure", "--year", "2024", "--out", str(out)])
    assert ok.exit_code == 0, ok.output
    assert "合同 2 份，金额 120,000.00 元" in ok.output and out.is_file()
    assert ok.output.splitlines()[0].split() == ["统一社会信用代码", "债务人", "逾期未付合同数", "逾期未付金额(元)"]
    bad = CliRunner().invoke(app, ["arrears", "disclosure", "--year", "1999"])
    assert bad.exit_code != 0 and "年度" in bad.output and "Traceback" not in bad.output
    csv = CliRunner().invoke(app, ["arrears", "disclosure", "--year", "2024", "--out", str(tmp_path / "d.csv")])
    assert csv.exit_code == 1 and "须以 .xlsx 结尾" in csv.output and not (tmp_path / "d.csv").exists()
    missing = CliRunner().invoke(app, ["arrears", "disclosure", "--year", "2024",
                                       "--out", str(tmp_path / "nope" / "d.xlsx")])
    assert missing.exit_code == 1 and "不存在" in missing.output and "Traceback" not in missing.output
    monkeypatch.chdir(tmp_path)
    default = CliRunner().invoke(app, ["arrears", "disclosure", "--year", "2024"])
    assert default.exit_code == 0 and not (tmp_path / "arrears-disclosure-2024.xlsx").exists()
    assert (ledger.services.settings.data_dir / "reports" / "arrears-disclosure-2024.xlsx").is_file()


def test_the_disclosure_of_2025_is_due_under_the_2025_text(ledger: Campaign) -> None:
    # due 2026-03-31, the 2025 text in force (since 2025-06-01): 第十八条第一款
    with ledger.services.uow() as uow:
        report = build_disclosure(uow.session, year=2025)
    assert report.publish_by == date(2026, 3, 31)
    assert report.article == "国务院令第802号《保障中小企业款项支付条例（2025年修订）》第十八条第一款"
