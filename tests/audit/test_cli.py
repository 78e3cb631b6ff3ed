"""`smeflow audit replay|export|check-bundle|anchor|archive|verify` as an auditor uses them."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from app.cli import app
from services.awards.demo import DemoCase
from services.bootstrap import Services
from tests.audit.conftest import sql


def test_replay_step_through_and_json(services: Services, demo: dict[str, DemoCase], cli: CliRunner) -> None:
    case = demo["b"].application_id
    out = cli.invoke(app, ["audit", "replay", str(case)])
    assert out.exit_code == 0, out.output
    assert "结论：回放重现了记录" in out.output and "办理“区县初审”：退回补正" in out.output
    step = cli.invoke(app, ["audit", "replay", str(case), "--step", "2"])
    assert step.exit_code == 0 and "待办环节：补正材料（申报单位）" in step.output
    assert '决定 null → "return"' in step.output and "已走过：提交申请 → " in step.output
    data = json.loads(cli.invoke(app, ["audit", "replay", str(case), "--json"]).output)
    assert data["verdict"] == "回放重现了记录" and data["reproduced"] and len(data["steps"]) == 8
    one = json.loads(cli.invoke(app, ["audit", "replay", str(case), "--json", "--step", "3"]).output)
    assert one["step"]["index"] == 3 and "steps" not in one
    bad = cli.invoke(app, ["audit", "replay", str(case), "--step", "99"])
    assert bad.exit_code == 1 and "Traceback" not in bad.output
    assert f"步骤：第 99 步超出范围，案件 {case} 的记录共 8 步" in bad.output
    missing = cli.invoke(app, ["audit", "replay", "999"])
    assert missing.exit_code == 1 and "不存在" in missing.output


def test_replay_names_the_first_differing_step(services: Services, demo: dict[str, DemoCase],
                                               cli: CliRunner) -> None:
    case = demo["d"].application_id
    sql(services, "UPDATE work_item SET completed_by = 'mallory' WHERE application_id = :a AND task_spec = "
                  "'bureau_review'", a=case)
    out = cli.invoke(app, ["audit", "replay", str(case)])
    assert out.exit_code == 1 and "结论：回放与记录不符，首个不符之处在第 3 步（事件 " in out.output
    assert '"completed_by": "mallory"' in out.output and '"completed_by": "bureau"' in out.output


def test_anchor_export_check_verify_and_archive(services: Services, demo: dict[str, DemoCase], cli: CliRunner,
                                                tmp_path: Path) -> None:
    first = cli.invoke(app, ["audit", "anchor"])
    assert first.exit_code == 0 and first.output.startswith("已记录 ") and "的链头声明：事件 " in first.output
    assert "签名：" in first.output and "（HMAC-SHA256，密钥编号 " in first.output
    assert cli.invoke(app, ["audit", "anchor"]).output.startswith("此前已记录 ")
    verify = cli.invoke(app, ["audit", "verify"])
    assert verify.exit_code == 0, verify.output
    assert "审计链完好：共 " in verify.output and "签名的链头声明 1 份，均与审计链相符（最近一份：" in verify.output
    target = tmp_path / "case.json"
    export = cli.invoke(app, ["audit", "export", str(demo["a"].application_id), "--out", str(target)])
    assert export.exit_code == 0 and f"已写入 {target}（" in export.output and target.is_file()
    check = cli.invoke(app, ["audit", "check-bundle", str(target)])
    assert check.exit_code == 0 and "（签名已核验）" in check.output
    assert f"案件 {demo['a'].application_id} 的回放：回放重现了记录" in check.output
    dry = cli.invoke(app, ["audit", "archive", "--dry-run"])  # the real clock: the 2024 demo cases are old
    assert dry.exit_code == 0 and "试运行，未做更改：案件 1、案件 2、案件 3、案件 4、案件 5" in dry.output
    done = cli.invoke(app, ["audit", "archive", "--limit", "2"])
    assert done.exit_code == 0 and done.output.count("已归档案件 ") == 2
    assert "归档证据包 2 个，均与记录相符" in cli.invoke(app, ["audit", "verify"]).output
    sql(services, "UPDATE audit_anchor SET seq = seq - 1")
    broken = cli.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1 and "已被改动" in broken.output and "Traceback" not in broken.output
