"""`smeflow fund create|adjust|list` and `smeflow call open|close|list`, on today's real date: a call
opens only under an edition in force today (a test edition, loaded with `smeflow policy load`)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner, Result

from app.cli import app
from services.awards.demo import Demo
from services.bootstrap import Services
from services.time.due import day_text
from tests.policy.editions import TEST_CODE, successor_text, write


@pytest.fixture
def cli(services_env: Services) -> CliRunner:
    Demo(services_env, echo=False).load()  # accounts: admin, bureau, finance
    return CliRunner()


def run(cli: CliRunner, *args: str) -> Result:
    result = cli.invoke(app, list(args))
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def one_line_error(result: Result, needle: str) -> None:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], result.output


def test_funds_from_the_command_line(cli: CliRunner) -> None:
    made = run(cli, "fund", "create", "--year", "2025", "--budget", "1,000,000", "--user", "bureau")
    assert made.exit_code == 0
    assert "已创建资金 2025-city：2025年市级中小企业发展专项资金，预算 1,000,000.00 元" in made.output
    district = run(cli, "fund", "create", "--year", "2025", "--line", "donghu", "--budget", "200000.50",
                   "--user", "bureau")
    assert "已创建资金 2025-donghu：2025年东湖区配套资金，预算 200,000.50 元" in district.output
    cut = run(cli, "fund", "adjust", "2025-donghu", "--by", "-50000", "--reason", "区财政调减", "--user", "bureau")
    assert cut.exit_code == 0 and "2025年东湖区配套资金）的预算：200,000.50 元 → 150,000.50 元" in cut.output
    listed = {f["code"]: f for f in json.loads(run(cli, "fund", "list", "--json").output)}
    assert listed["2025-donghu"]["budget_fen"] == 15_000_050 and listed["2025-city"]["budget_fen"] == 100_000_000
    assert listed["sme-2024"]["budget_fen"] == 60_000_000
    lines = run(cli, "fund", "list").output.splitlines()
    assert "2025-donghu  2025年东湖区配套资金  预算 150,000.50 元  已核定未拨付 0.00 元  已拨付 0.00 元  " \
           "可用 150,000.50 元" in lines

    one_line_error(run(cli, "fund", "adjust", "2025-donghu", "--to", "1", "--reason", " ", "--user", "bureau"),
                   "理由")
    one_line_error(run(cli, "fund", "adjust", "2025-donghu", "--to", "1e9", "--reason", "r", "--user", "bureau"),
                   "金额格式无效")
    one_line_error(run(cli, "fund", "create", "--year", "2025", "--budget", "1", "--user", "bureau"), "已建立")
    one_line_error(run(cli, "fund", "create", "--year", "2025", "--line", "xihu", "--budget", "1",
                       "--user", "finance"), "此操作只有")
    one_line_error(run(cli, "fund", "adjust", "nope", "--to", "1", "--reason", "r", "--user", "bureau"), "没有资金")


def test_calls_of_the_edition_in_force_today(cli: CliRunner, services_env: Services, tmp_path: Path) -> None:
    # the CLI runs on the real clock, and its day is the service's (Asia/Shanghai), not the machine's (UTC)
    today = datetime.now(ZoneInfo(services_env.settings.timezone)).date()
    year = today.year
    refused = run(cli, "call", "open", "--title", "本年度第一批", "--closes", f"{year}-12-31", "--user", "admin")
    one_line_error(refused, "没有施行中的政策版本")  # the 2022 edition ended on 2025-09-01

    edition = write(tmp_path, "t.toml", successor_text())
    assert run(cli, "policy", "load", str(edition), "--user", "admin").exit_code == 0
    assert run(cli, "fund", "create", "--year", str(year), "--budget", "500000", "--user", "bureau").exit_code == 0
    opened = run(cli, "call", "open", "--title", "本年度第一批（测试数据）", "--closes", f"{year}-12-31",
                 "--award", "test-2026-m2-srdi-sme-city", "--user", "admin")
    assert opened.exit_code == 0, opened.output
    assert f"（政策版本 {TEST_CODE}）：{day_text(today)}至{year}年12月31日" in opened.output
    assert opened.output.rstrip().endswith("，1 项奖励")
    calls = {c["title"]: c for c in json.loads(run(cli, "call", "list", "--json").output)}
    new = calls["本年度第一批（测试数据）"]
    assert (new["state"], new["edition"]) == ("open", TEST_CODE)
    assert calls["2024年度优质中小企业奖补第一批"]["state"] == "ended"

    one_line_error(run(cli, "call", "open", "--title", "x", "--closes", "31/12", "--user", "admin"),
                   "截止日期：日期格式应为 YYYY-MM-DD")
    one_line_error(run(cli, "call", "open", "--title", "x", "--closes", f"{year}-12-31", "--award", "nope",
                       "--user", "admin"), "奖励类型")
    one_line_error(run(cli, "call", "close", str(new["id"]), "--user", "bureau"), "此操作只有")
    closed = run(cli, "call", "close", str(new["id"]), "--user", "admin")
    assert closed.exit_code == 0 and f"已提前截止申报批次 {new['id']}“本年度第一批（测试数据）”" in closed.output
    one_line_error(run(cli, "call", "close", str(new["id"]), "--user", "admin"), "已提前截止")
    assert {c["title"]: c for c in json.loads(run(cli, "call", "list", "--json").output)}[
        "本年度第一批（测试数据）"]["state"] == "closed"
    listing = run(cli, "call", "list").output
    assert f"{new['id']}  已提前截止  {today} 至 {year}-12-31  政策版本 {TEST_CODE}  本年度第一批（测试数据）" \
        in listing.splitlines()
