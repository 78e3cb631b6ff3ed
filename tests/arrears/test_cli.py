"""`smeflow arrears ...`: import, report, cases, the registry and deciding steps from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner, Result

from app.cli import app
from services.arrears.demo import make_uscc
from services.bootstrap import Services
from tests.arrears.conftest import CREDITOR, DEBTORS, TEST_ARRANGEMENT, build_campaign
from tests.arrears.test_import import GOOD, HEADER, csv_of


@pytest.fixture
def cli(services_env: Services, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    from config.settings import get_settings

    build_campaign(services_env)
    monkeypatch.setenv("SMEFLOW_ARREARS_ACCEPTANCE_ARRANGEMENT", TEST_ARRANGEMENT)
    get_settings.cache_clear()
    return CliRunner()


def run(cli: CliRunner, *args: str) -> Result:
    result = cli.invoke(app, ["arrears", *args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_import_report_and_cases(cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_of(GOOD[0], f"{CREDITOR},甲,{DEBTORS['gov'][0]},X,2024-01-10,2024-03-01,,,,abc"))
    result = run(cli, "import", str(bad))
    assert result.exit_code == 1
    assert "第 3 行 · 欠款金额（元）：金额格式无效" in result.output
    assert "共 1 处错误，未导入任何数据" in result.output
    good = tmp_path / "ledger.csv"
    good.write_bytes(csv_of(*GOOD))
    imported = run(cli, "import", str(good)).output
    assert "ledger.csv：共 3 行；新建案件 3 件，此前已导入 0 件，未通过校验 0 行" in imported
    again = run(cli, "import", str(good))
    assert again.exit_code == 0 and "新建案件 0 件，此前已导入 3 件" in again.output
    partial = run(cli, "import", str(bad), "--partial")
    assert partial.exit_code == 0
    assert "bad.csv：共 2 行；新建案件 0 件，此前已导入 1 件，未通过校验 1 行" in partial.output
    listing = run(cli, "cases", "--status", "registered")
    assert "共 3 件" in listing.output and "待受理" in listing.output
    assert "欠款 688,000.50 元" in listing.output  # 120,000.50 + 8,000 + 560,000
    assert listing.output.splitlines()[0].split() == [
        "编号", "状态", "环节", "债权企业", "债务人", "处理部门", "欠款(元)", "未清偿(元)", "逾期"]
    monkeypatch.chdir(tmp_path)
    month = run(cli, "report", "--month", "2099-12", "--out", str(tmp_path / "m.xlsx"))
    assert month.exit_code == 0 and "共 3 件" in month.output
    sheet = load_workbook(tmp_path / "m.xlsx").worksheets[0]
    assert sheet.max_row == 5  # header, three cases, totals
    assert run(cli, "report", "--month", "2099-13").exit_code == 1
    csv = run(cli, "report", "--month", "2099-12", "--out", str(tmp_path / "m.csv"))
    assert csv.exit_code == 1 and "输出文件 --out：报表为 XLSX 格式，文件名须以 .xlsx 结尾" in csv.output
    assert not (tmp_path / "m.csv").exists()
    missing = run(cli, "report", "--month", "2099-12", "--out", str(tmp_path / "nope" / "m.xlsx"))
    assert missing.exit_code == 1 and "不存在" in missing.output and "Traceback" not in missing.output
    default = run(cli, "report", "--month", "2099-12")
    assert default.exit_code == 0 and not (tmp_path / "arrears-2099-12.xlsx").exists()
    assert "reports/arrears-2099-12.xlsx" in default.output


def test_register_and_decide_from_the_command_line(cli: CliRunner) -> None:
    result = run(cli, "register", "--creditor", CREDITOR, "--creditor-name", "南昌测试科技有限公司",
                 "--debtor", DEBTORS["gov"][0], "--contract", "CLI-1", "--signed", "2024-01-10",
                 "--delivered", "2024-03-01", "--amount", "5000")
    assert result.exit_code == 0
    assert "已登记；应付日期 2024年4月1日（周一），依据 2020 年条例（国务院令第728号）" in result.output
    tasks = run(cli, "tasks", "--user", "bureau").output
    assert tasks.splitlines()[0].split() == ["事项编号", "案件编号", "环节", "办理期限"]
    step = tasks.splitlines()[2].split()[0]
    wrong = run(cli, "act", step, "--user", "bureau", "--decision", "approve")
    assert wrong.exit_code == 1 and "决定" in wrong.output
    done = run(cli, "act", step, "--user", "bureau", "--decision", "refuse", "--reason", "不属于受理范围")
    assert done.exit_code == 0 and f"的事项 {step}（受理审查）已办理：不予受理" in done.output, done.output
    assert "不予受理" in run(cli, "cases").output
    bad = run(cli, "register", "--creditor", "123", "--creditor-name", "x", "--debtor", DEBTORS["gov"][0],
              "--contract", "CLI-2", "--signed", "2024-01-10", "--delivered", "2024-03-01", "--amount", "1")
    assert bad.exit_code == 1 and "债权企业统一社会信用代码" in bad.output


def test_debtor_registry(cli: CliRunner, tmp_path: Path) -> None:
    file = tmp_path / "debtors.csv"
    file.write_text(f"uscc,name,kind,department\n{make_uscc('11', 501)},南昌市某局,government,xihu\n",
                    encoding="utf-8")
    assert "已登记债务人 1 个" in run(cli, "debtors", "import", str(file)).output
    again = run(cli, "debtors", "import", str(file))
    assert again.exit_code == 1 and "已登记" in again.output
    listing = run(cli, "debtors", "list").output
    assert "南昌市某局" in listing and "西湖区人民政府" in listing
    assert HEADER  # the ledger header is documented in one place (tests/arrears/test_import.py)


def test_a_payment_due_in_a_year_without_the_notice_is_marked_provisional(
        cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    from config.settings import get_settings

    monkeypatch.setenv("SMEFLOW_CALENDAR_PACKAGE_THROUGH", "2026")  # 2027: no State Council notice known
    get_settings.cache_clear()
    # 2025 第九条第一款: delivered Thu 2026-12-10, 30 days = Sat 2027-01-09; Sat and Sun are rest days (no
    # swap is known for 2027), so Mon 2027-01-11, provisional until the 2027 notice is loaded.
    result = run(cli, "register", "--creditor", CREDITOR, "--creditor-name", "南昌测试科技有限公司",
                 "--debtor", DEBTORS["gov"][0], "--contract", "HT-2027", "--signed", "2026-11-20",
                 "--delivered", "2026-12-10", "--amount", "1000")
    assert result.exit_code == 0, result.output
    assert "应付日期 2027年1月11日（周一）（暂定：该年节假日安排未公布，补假、调休未计），依据 2025 年条例" \
        in result.output
    # Within 2026 (known to the package): no mark. Delivered Mon 2026-11-02: 30 days = Wed 2026-12-02.
    known = run(cli, "register", "--creditor", CREDITOR, "--creditor-name", "南昌测试科技有限公司",
                "--debtor", DEBTORS["gov"][0], "--contract", "HT-2026", "--signed", "2026-10-20",
                "--delivered", "2026-11-02", "--amount", "1000")
    assert "应付日期 2026年12月2日（周三），依据 2025 年条例（国务院令第802号）" in known.output
