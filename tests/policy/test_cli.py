"""`smeflow policy validate|load|list`: a successor edition (test data) is loaded while the service runs;
a bad file gets one line per problem, naming the field and the rule, and nothing is stored."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from app.cli import app
from services.awards.demo import Demo
from services.bootstrap import Services
from services.db.models import AuditEvent, PolicyRevision
from tests.policy.editions import TEST_CODE, TEST_TITLE, successor_text, write


@pytest.fixture
def cli(services_env: Services) -> CliRunner:
    Demo(services_env, echo=False).load()  # the admin account
    return CliRunner()


def run(cli: CliRunner, *args: str) -> Result:
    result = cli.invoke(app, list(args))
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def revisions(services: Services) -> int:
    with services.uow() as uow:
        return uow.session.scalar(select(func.count(PolicyRevision.id))) or 0


def test_load_a_successor_and_list_it(cli: CliRunner, services: Services, tmp_path: Path) -> None:
    file = write(tmp_path, "successor.toml", successor_text())
    ok = run(cli, "policy", "validate", str(file))
    assert ok.exit_code == 0, ok.output
    assert "校验通过：successor.toml：政策版本 test-2026-successor（" in ok.output and "；未存储" in ok.output
    assert revisions(services) == 1  # validate stores nothing

    loaded = run(cli, "policy", "load", str(file), "--user", "admin")
    assert loaded.exit_code == 0, loaded.output
    sha = hashlib.sha256(file.read_bytes()).hexdigest()
    assert f"已载入政策版本 {TEST_CODE} 第 1 版（施行），sha256 {sha}" in loaded.output
    with services.uow() as uow:
        row = uow.session.scalars(select(PolicyRevision).where(PolicyRevision.edition_code == TEST_CODE)).one()
        assert (row.sha256, row.loaded_by, row.source) == (sha, "admin", file.read_text(encoding="utf-8"))
        event = uow.session.scalars(select(AuditEvent).where(AuditEvent.kind == "policy.load")
                                    .order_by(AuditEvent.seq.desc())).first()
        assert event is not None and event.actor == "admin" and sha in event.payload

    again = run(cli, "policy", "load", str(file), "--user", "admin")
    assert again.exit_code == 0 and f"未更改：successor.toml 此前已存为政策版本 {TEST_CODE} 第 1 版" in again.output
    assert revisions(services) == 2

    listed = json.loads(run(cli, "policy", "list", "--json").output)
    by_code = {r["code"]: r for r in listed}
    # the CLI runs on the real clock: the 2022 edition ended on 2025-09-01, the test successor runs to 2099
    assert by_code["2022-109"]["state_zh"] == "失效"
    assert by_code[TEST_CODE]["state_zh"] == "施行" and by_code[TEST_CODE]["title"] == TEST_TITLE
    text = run(cli, "policy", "list").output
    assert "2022-109 第 1 版  失效  施行期 2022-09-01 至 2025-09-01  洪府办发〔2022〕109号  sha256 " in text


def test_a_bad_file_lists_every_problem_and_stores_nothing(cli: CliRunner, services: Services,
                                                           tmp_path: Path) -> None:
    text = successor_text(start="2025-01-01")  # overlaps the 2022 edition, which covers the same measures
    text = text.replace("cap_fen = 30_000_000", "cap_fen = 300000.0", 1)  # money as a float
    text = text.replace("给予一次性最高不超过20万元奖励", "给予一次性奖励", 1)  # a cap whose clause does not state it
    text = text.replace('code = "test-2026-m2-srdi-sme-city"', 'code = "m2-srdi-sme-city"', 1)  # a 2022 award code
    file = write(tmp_path, "bad.toml", text)
    for command in (["validate", str(file)], ["load", str(file), "--user", "admin"]):
        result = run(cli, "policy", *command)
        assert result.exit_code == 1
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert lines == [
            "错误：bad.toml: 奖励类型第 1 项的奖励上限（分） award_types[0].cap_fen：金额须为整数（单位：分），"
            "不能是小数（300000.0）；30万元应写作 30_000_000",
            "错误：bad.toml: 奖励类型第 3 项的条款原文 award_types[2].clause：每个数字都要有出处：条款原文须写明"
            "奖励上限（20万元）",
        ], result.output
    # the file's own problems come first; once fixed, the checks against the stored editions speak
    text = successor_text(start="2025-01-01").replace('code = "test-2026-m2-srdi-sme-city"',
                                                      'code = "m2-srdi-sme-city"', 1)
    result = run(cli, "policy", "load", str(write(tmp_path, "bad2.toml", text)), "--user", "admin")
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == [
        "错误：bad2.toml: 施行日期 in_force_from：2025-01-01 至 2099-12-31 与政策版本 2022-109"
        "（2022-09-01 至 2025-09-01）重叠，两者涵盖相同的措施 2、8、9；同一措施同一天只能有一个政策版本",
        "错误：bad2.toml: 奖励类型第 6 项的奖励代码 award_types[5].code：'m2-srdi-sme-city' 已是政策版本 2022-109 "
        "的奖励代码；奖励代码在各版本间须唯一",
    ], result.output
    assert revisions(services) == 1


@pytest.mark.parametrize(("content", "needle"), [
    (b"", "文件：文件为空"),
    (b"\xff\xfe code", "文件：须为 UTF-8 文本（第 0 字节不是）"),
    (b"code = [", "文件：不是有效的 TOML（在文件末尾）"),
    (b"code = \n", "文件：不是有效的 TOML（第 1 行第 8 列）"),
    (b'code = "x"\n', "文号 doc_no：缺少此项（必填）"),
])
def test_unreadable_files(cli: CliRunner, services: Services, tmp_path: Path, content: bytes, needle: str) -> None:
    file = tmp_path / "x.toml"
    file.write_bytes(content)
    result = run(cli, "policy", "load", str(file), "--user", "admin")
    assert result.exit_code == 1 and needle in result.output, result.output
    assert revisions(services) == 1


def test_huge_file_missing_file_and_non_admin(cli: CliRunner, services: Services, tmp_path: Path) -> None:
    big = tmp_path / "big.toml"
    big.write_bytes(b"# " + b"x" * (300 * 1024))
    result = run(cli, "policy", "validate", str(big))
    assert result.exit_code == 1 and "文件超过 256 KiB" in result.output
    missing = run(cli, "policy", "validate", str(tmp_path / "nope.toml"))
    assert missing.exit_code == 1 and "nope.toml 不存在或不是文件" in missing.output
    file = write(tmp_path, "successor.toml", successor_text())
    refused = run(cli, "policy", "load", str(file), "--user", "bureau")
    assert refused.exit_code == 1 and len(refused.output.strip().splitlines()) == 1
    assert revisions(services) == 1
