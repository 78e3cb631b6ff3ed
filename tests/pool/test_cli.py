"""`smeflow pool import|list`: one clear line on bad input, a non-zero exit, no traceback."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner, Result

from app.cli import app
from services.accounts import users
from services.bootstrap import Services
from tests.pool.lists import code, csv_file, wrong_check

ROWS = [
    [
        code("360102", 21),
        "南昌测试命令行科技有限公司",
        "“专精特新”中小企业",
        "江西省",
        "赣工信测字〔2023〕21号",
        "2023-08-01",
        "",
    ]
]


@pytest.fixture
def cli(services_env: Services) -> CliRunner:
    with services_env.uow() as uow:
        for name, role in (("bureau", "bureau"), ("finance", "finance")):
            users.create_user(
                uow.session,
                hasher=services_env.password_hasher,
                username=name,
                display_name=name,
                role=role,
                password="pool-test-pw",
            )
        uow.commit()
    return CliRunner()


def run(cli: CliRunner, *args: str) -> Result:
    result = cli.invoke(app, list(args))
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_import_then_list(cli: CliRunner) -> None:
    bad = csv_file("cli-bad", [[wrong_check(ROWS[0][0]), *ROWS[0][1:]]])
    result = run(cli, "pool", "import", str(bad), "--user", "bureau")
    assert result.exit_code == 1
    assert "第 2 行 · 统一社会信用代码：统一社会信用代码无效（GB 32100-2015）：校验码不符" in result.output
    assert "有 1 处错误，未导入任何数据" in result.output
    good = csv_file("cli-good", ROWS)
    imported = run(cli, "pool", "import", str(good), "--user", "bureau").output
    assert f"已导入第 1 批。{good.name}：共 1 行；新增荣誉 1 项，此前已导入 0 项，有误 0 行；新增企业 1 家" in imported
    again = run(cli, "pool", "import", str(good), "--user", "bureau")
    assert again.exit_code == 0 and f"{good.name}：该文件此前已作为第 1 批导入，未做更改" in again.output
    listed = json.loads(run(cli, "pool", "list", "--json").output)
    assert [(e["uscc"], e["tier"], e["unit"]) for e in listed] == [(ROWS[0][0], "srdi", "donghu")]


def test_bad_invocations_say_one_line(cli: CliRunner) -> None:
    good = csv_file("cli-good", ROWS)
    denied = run(cli, "pool", "import", str(good), "--user", "finance")
    assert denied.exit_code == 1 and "只有市中小企业局或系统管理员可以导入认定名单" in denied.output
    missing = run(cli, "pool", "import", "/nonexistent/list.csv", "--user", "bureau")
    assert missing.exit_code == 1 and "文件：/nonexistent/list.csv 不存在或不是文件" in missing.output
    unknown = run(cli, "pool", "import", str(good), "--user", "nobody")
    assert unknown.exit_code == 1 and "nobody" in unknown.output
    tier = run(cli, "pool", "list", "--tier", "gold")
    assert tier.exit_code == 1 and "档次" in tier.output


def test_offers_list_and_bad_input(cli: CliRunner) -> None:
    empty = json.loads(run(cli, "offers", "list", "--json").output)
    assert empty == []
    bad = run(cli, "offers", "list", "--call", "0")
    assert bad.exit_code == 1 and "申报批次：须为正整数（收到 0）" in bad.output
    denied = run(cli, "offers", "make", "--user", "finance")
    assert denied.exit_code == 1 and "只有市中小企业局" in denied.output
    assert "发出免申即享奖励 0 项" in run(cli, "offers", "make", "--user", "bureau").output
    missing = run(cli, "offers", "make", "--user", "bureau", "--call", "99")
    assert missing.exit_code == 1 and "申报批次 #99 不存在" in missing.output
