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
    assert "verdict: reproduced" in out.output and "complete district_check (return)" in out.output
    step = cli.invoke(app, ["audit", "replay", str(case), "--step", "2"])
    assert step.exit_code == 0 and "open tasks: 补正材料 (correct_application, applicant)" in step.output
    assert 'decision: null → "return"' in step.output and "path: start → gw_merge_district" in step.output
    data = json.loads(cli.invoke(app, ["audit", "replay", str(case), "--json"]).output)
    assert data["verdict"] == "reproduced" and data["reproduced"] and len(data["steps"]) == 8
    one = json.loads(cli.invoke(app, ["audit", "replay", str(case), "--json", "--step", "3"]).output)
    assert one["step"]["index"] == 3 and "steps" not in one
    bad = cli.invoke(app, ["audit", "replay", str(case), "--step", "99"])
    assert bad.exit_code == 1 and "out of range" in bad.output and "Traceback" not in bad.output
    missing = cli.invoke(app, ["audit", "replay", "999"])
    assert missing.exit_code == 1 and "不存在" in missing.output


def test_replay_names_the_first_differing_step(services: Services, demo: dict[str, DemoCase],
                                               cli: CliRunner) -> None:
    case = demo["d"].application_id
    sql(services, "UPDATE work_item SET completed_by = 'mallory' WHERE application_id = :a AND task_spec = "
                  "'bureau_review'", a=case)
    out = cli.invoke(app, ["audit", "replay", str(case)])
    assert out.exit_code == 1 and "verdict: differs at step 3" in out.output
    assert '"completed_by": "mallory"' in out.output and '"completed_by": "bureau"' in out.output


def test_anchor_export_check_verify_and_archive(services: Services, demo: dict[str, DemoCase], cli: CliRunner,
                                                tmp_path: Path) -> None:
    first = cli.invoke(app, ["audit", "anchor"])
    assert first.exit_code == 0 and first.output.startswith("recorded statement of")
    assert "signature" in first.output and "key id" in first.output
    assert cli.invoke(app, ["audit", "anchor"]).output.startswith("already recorded")
    verify = cli.invoke(app, ["audit", "verify"])
    assert verify.exit_code == 0, verify.output
    assert "OK: audit chain intact" in verify.output and "1 signed head statements match" in verify.output
    target = tmp_path / "case.json"
    export = cli.invoke(app, ["audit", "export", str(demo["a"].application_id), "--out", str(target)])
    assert export.exit_code == 0 and f"wrote {target}" in export.output and target.is_file()
    check = cli.invoke(app, ["audit", "check-bundle", str(target)])
    assert check.exit_code == 0 and "signature verified" in check.output
    dry = cli.invoke(app, ["audit", "archive", "--dry-run"])  # the real clock: the 2024 demo cases are old
    assert dry.exit_code == 0 and "dry run: #1, #2, #3, #4, #5" in dry.output
    done = cli.invoke(app, ["audit", "archive", "--limit", "2"])
    assert done.exit_code == 0 and done.output.count("archived case") == 2
    assert "2 archive bundles match" in cli.invoke(app, ["audit", "verify"]).output
    sql(services, "UPDATE audit_anchor SET seq = seq - 1")
    broken = cli.invoke(app, ["audit", "verify"])
    assert broken.exit_code == 1 and "已被改动" in broken.output and "Traceback" not in broken.output
