"""The `smeflow` command line: each command works, and bad input gets one clear line and a
non-zero exit, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from app.cli import app
from config.settings import get_settings
from services.awards.demo import Demo
from services.bootstrap import Services
from tests.helpers import apply_for, open_item

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "bpmn"


@pytest.fixture
def cli(services_env: Services) -> CliRunner:
    return CliRunner()


def run(cli: CliRunner, *args: str) -> Result:
    result = cli.invoke(app, list(args))
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def one_line_error(result: Result, *needles: str) -> None:
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    for needle in needles:
        assert needle in lines[0]


def test_awards_json_is_the_catalogue(cli: CliRunner) -> None:
    result = run(cli, "awards", "--json")
    assert result.exit_code == 0
    [edition] = json.loads(result.output)
    assert edition["doc_no"] == "洪府办发〔2022〕109号"
    caps = {a["code"]: a["cap_fen"] for a in edition["award_types"]}
    assert len(caps) == 12
    assert caps["m2-little-giant-national"] == 30_000_000 and caps["m2-srdi-sme-city"] == 5_000_000


def test_inbox_and_complete(cli: CliRunner, services: Services) -> None:
    Demo(services, echo=False).load()
    app_id = apply_for(services, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)
    item = open_item(services, app_id)
    inbox = run(cli, "tasks", "--user", "district-donghu")
    assert inbox.exit_code == 0 and "区县初审" in inbox.output and str(item.id) in inbox.output
    assert "没有待办" in run(cli, "tasks", "--user", "district-xihu").output
    done = run(cli, "complete", str(item.id), "--user", "district-donghu", "--decision", "approve")
    assert done.exit_code == 0 and f"工作项 {item.id}（区县初审）已办理：通过" in done.output
    bureau_item = open_item(services, app_id)
    one_line_error(run(cli, "complete", str(bureau_item.id), "--user", "bureau", "--decision", "approve",
                       "--amount", "300000.01"), "金额", "超过上限")
    one_line_error(run(cli, "complete", str(bureau_item.id), "--user", "bureau", "--decision", "approve",
                       "--amount", "abc"), "金额")
    ok = run(cli, "complete", str(bureau_item.id), "--user", "bureau", "--decision", "approve", "--amount", "250,000")
    assert ok.exit_code == 0
    cases = run(cli, "cases")
    assert cases.exit_code == 0 and "公示" in cases.output and "250,000.00" in cases.output


@pytest.mark.parametrize("args,needles", [
    (["tasks", "--user", "nobody"], ["nobody"]),
    (["complete", "999999", "--user", "bureau", "--decision", "approve"], ["999999", "不存在"]),
    (["complete", "1", "--user", "ghost", "--decision", "approve"], ["ghost"]),
])
def test_bad_input_is_one_line(cli: CliRunner, services: Services, args: list[str], needles: list[str]) -> None:
    Demo(services, echo=False).load()
    one_line_error(run(cli, *args), *needles)


@pytest.mark.parametrize("args,line", [
    (["fund", "create", "--year", "2025"], "错误：缺少选项 --budget（用 `smeflow fund create --help` 查看用法）"),
    (["fund", "create", "--year", "x", "--budget", "1", "--user", "bureau"], "错误：--year：须为整数（"),
    (["complete", "--user", "bureau", "--decision", "approve"], "错误：缺少参数 ITEM（"),
    (["fund", "create", "--yeer", "1"], "错误：没有选项 --yeer（是否要用 --year、--user？）（"),
    (["tasks", "--user"], "错误：选项 --user 的用法有误（须跟一个值）"),
    (["tasks", "--user", "bureau", "extra"], "错误：多余的参数：extra（"),
    (["fund", "nope"], "错误：没有命令 nope（用 `smeflow fund --help` 查看用法）"),
])
def test_a_command_typed_wrong_gets_one_chinese_line(cli: CliRunner, args: list[str], line: str) -> None:
    result = cli.invoke(app, args)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert [x for x in result.output.splitlines() if x.strip()] == [result.output.strip()]
    assert result.output.startswith(line), result.output


def test_uninitialised_database_says_so(cli: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SMEFLOW_DATABASE_URL", f"sqlite:///{tmp_path}/empty.db")
    get_settings.cache_clear()
    one_line_error(run(cli, "cases"), "数据库未就绪", "smeflow init")


def test_bpmn_validate(cli: CliRunner) -> None:
    shipped = sorted((ROOT / "bpmn").glob("*.bpmn"))
    ok = run(cli, "bpmn", "validate", *[str(p) for p in shipped])
    assert ok.exit_code == 0 and ok.output.count("：通过") == len(shipped) >= 3
    bad = run(cli, "bpmn", "validate", str(FIXTURES / "malicious.bpmn"), str(FIXTURES / "malformed.bpmn"),
              str(FIXTURES / "unquoted_duration.bpmn"), str(FIXTURES / "gap.dmn"), str(ROOT / "missing.bpmn"))
    assert bad.exit_code == 1
    assert "__import__" in bad.output and "XML 格式错误" in bad.output and "PT72H" in bad.output
    assert "（元素 Timer_Review_Deadline）错误：" in bad.output  # the element id
    assert "malformed.bpmn:9" in bad.output  # the line


def test_init_is_idempotent(cli: CliRunner) -> None:
    first, second = run(cli, "init"), run(cli, "init")
    assert first.exit_code == second.exit_code == 0
    assert first.output.splitlines()[:3] == second.output.splitlines()[:3]
    assert "已安装流程：清欠案件，版本 " in first.output and "数据库已就绪：" in first.output


def test_arrears_demo_follows_the_award_demo(cli: CliRunner, services: Services) -> None:
    """`make demo` runs `smeflow demo` then `smeflow arrears demo`: four campaign cases, once."""
    Demo(services, echo=False).load()
    first = run(cli, "arrears", "demo")
    assert first.exit_code == 0 and "清欠演示：4 件案件" in first.output
    ledger = run(cli, "arrears", "cases")
    assert ledger.exit_code == 0
    assert "已销号" in ledger.output and "不予受理" in ledger.output and "共 4 件" in ledger.output
    again = run(cli, "arrears", "demo")
    assert again.exit_code == 0 and "清欠演示数据已存在" in again.output
    assert "共 4 件" in run(cli, "arrears", "cases").output
    verify = run(cli, "audit", "verify")
    assert verify.exit_code == 0 and "审计链完好" in verify.output
