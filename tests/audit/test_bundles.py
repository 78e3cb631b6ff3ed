"""Evidence bundles: written from the database, checked from the file alone, and any changed byte fails."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from app.cli import app
from config.settings import DEV_AUDIT_SIGNING_KEY
from services.audit import anchors, bundle_format, bundles
from services.audit.bundle_format import seal
from services.awards.demo import DemoCase
from services.bootstrap import Services, build

ROOT = Path(__file__).resolve().parents[2]


def _export(services: Services, app_id: int, out: Path) -> bundles.Exported:
    with services.uow() as uow:
        return bundles.export_case(uow, services, application_id=app_id, out=out, actor="auditor",
                                   now=services.clock.now())


def _anchor(services: Services) -> anchors.Statement:
    with services.uow() as uow:
        st, _ = anchors.record(uow.session, key=services.settings.audit_signing_key, now=services.clock.now(),
                               timezone=services.settings.timezone)
        uow.commit()
    return st


def test_a_bundle_checks_and_replays_from_the_file_alone(services: Services, demo: dict[str, DemoCase],
                                                         tmp_path: Path) -> None:
    statement = _anchor(services)
    done = _export(services, demo["e"].application_id, tmp_path / "e.json")
    assert done.anchored and done.proof_to_seq == statement.seq and done.events >= 8
    report = bundles.check_bundle(done.path, signing_key=services.settings.audit_signing_key)
    assert report.ok, report.problems
    assert report.signature_checked and report.replay is not None and report.replay.reproduced
    assert report.replay.source == "bundle" and report.application_id == demo["e"].application_id
    body = orjson.loads(done.path.read_bytes())["bundle"]
    assert set(body) == {"exported_at", "exported_by", "case", "environment", "chain"}
    assert body["chain"]["statement"]["signature"] == statement.signature
    assert len(body["chain"]["hashes"]) == statement.seq - body["chain"]["from_seq"] + 1
    assert "<bpmn:definitions" in next(iter(body["case"]["definitions"].values()))["bpmn_xml"]["utf8"]


def _offline(bundle: Path, workdir: Path, database_url: str) -> subprocess.CompletedProcess[str]:
    """`smeflow audit check-bundle` in a fresh process that has the bundle file and the key, and a database
    URL that leads nowhere (no server, no file); nothing of the test's database or data directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMEFLOW_", "PG"))}
    env.update(SMEFLOW_DATABASE_URL=database_url, SMEFLOW_DATA_DIR=str(workdir / "nowhere"),
               SMEFLOW_AUDIT_SIGNING_KEY=DEV_AUDIT_SIGNING_KEY, SMEFLOW_ENVIRONMENT="test")
    cmd = [str(Path(sys.executable).parent / "smeflow"), "audit", "check-bundle", str(bundle)]
    return subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("database_url", ["sqlite:///{tmp}/absent/no.db", "postgresql+psycopg://nobody@127.0.0.1:9/none",
                                          "nodb://no-database-here"])
def test_check_bundle_runs_without_a_database(services: Services, demo: dict[str, DemoCase],
                                              tmp_path: Path, database_url: str) -> None:
    done = _export(services, demo["b"].application_id, tmp_path / "exported.json")
    services.db.dispose()
    offline = tmp_path / "offline"
    offline.mkdir()
    bundle = offline / "b.json"
    bundle.write_bytes(done.path.read_bytes())
    ok = _offline(bundle, offline, database_url.format(tmp=offline))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "核验通过：案件 " in ok.stdout and "的证据包完整，回放重现了记录（签名已核验）" in ok.stdout
    assert sorted(p.name for p in offline.iterdir()) == ["b.json"]  # no database file, no data directory
    data = bytearray(bundle.read_bytes())
    middle = next(i for i in range(len(data) // 2, len(data)) if chr(data[i]).isalnum())
    data[middle] ^= 0x01  # one character of the content changed, the file still valid JSON
    bundle.write_bytes(bytes(data))
    bad = _offline(bundle, offline, database_url.format(tmp=offline))
    assert bad.returncode == 1 and "Traceback" not in bad.stdout + bad.stderr
    assert "错误：" in bad.stderr and "被改动" in bad.stderr and str(bundle) in bad.stderr


def test_check_bundle_cli_fails_clearly_on_a_changed_byte(services: Services, demo: dict[str, DemoCase],
                                                          tmp_path: Path, cli: CliRunner) -> None:
    done = _export(services, demo["b"].application_id, tmp_path / "b.json")
    data = bytearray(done.path.read_bytes())
    data[len(data) // 2] ^= 0x01
    done.path.write_bytes(bytes(data))
    bad = cli.invoke(app, ["audit", "check-bundle", str(done.path)])
    assert bad.exit_code == 1 and "Traceback" not in bad.output
    assert "错误：" in bad.output and ("被改动" in bad.output or "已损坏" in bad.output)


def test_any_changed_byte_fails_with_a_clear_message(services: Services, demo: dict[str, DemoCase],
                                                     tmp_path: Path) -> None:
    done = _export(services, demo["a"].application_id, tmp_path / "a.json")
    raw = done.path.read_bytes()
    positions = sorted({0, 1, len(raw) - 1, len(raw) - 2, *range(0, len(raw), max(1, len(raw) // 150))})
    target = tmp_path / "changed.json"
    for pos in positions:
        for flip in (0x01, 0x20):
            changed = bytearray(raw)
            changed[pos] ^= flip
            if changed == raw:
                continue
            target.write_bytes(bytes(changed))
            report = bundles.check_bundle(target)  # no key: the SHA-256 seal alone must catch it
            assert not report.ok, (pos, flip)
            assert any(word in report.message for word in ("被改动", "已损坏", "不是证据包")), (pos, report.message)
            prose = re.sub(r"'[^']*'|[0-9a-f]{16}…", "", report.message.replace(str(target), ""))  # values, hashes
            assert not re.search(r"[a-z]{3,}", prose), report.message  # no English words (JSON, SHA-256 may stay)
            assert report.replay is None  # refused before anything was replayed


def test_a_resealed_bundle_fails_the_signature(services: Services, demo: dict[str, DemoCase],
                                               tmp_path: Path) -> None:
    done = _export(services, demo["d"].application_id, tmp_path / "d.json")
    body = orjson.loads(done.path.read_bytes())["bundle"]
    body["case"]["events"][-1]["actor"] = "mallory"  # a forger without the key re-seals it
    forged = tmp_path / "forged.json"
    forged.write_bytes(seal(body, key="not-the-key"))
    report = bundles.check_bundle(forged, signing_key=services.settings.audit_signing_key)
    assert not report.ok and "签名无法用本系统的签名密钥核验" in report.message
    unsigned = bundles.check_bundle(forged)  # without the key the seal holds, but replay sees the edit
    assert not unsigned.ok and unsigned.replay is not None and unsigned.replay.first is not None
    assert unsigned.replay.first.what == "event hash"


def test_an_unanchored_bundle_says_so(services: Services, demo: dict[str, DemoCase], tmp_path: Path) -> None:
    done = _export(services, demo["c"].application_id, tmp_path / "c.json")
    assert not done.anchored
    report = bundles.check_bundle(done.path)
    assert report.ok and any("导出时尚无签名声明覆盖本案" in n for n in report.notes)
    assert any("未核验签名" in n for n in report.notes)
    assert report.message == f"核验通过：案件 {demo['c'].application_id} 的证据包完整，回放重现了记录"


@pytest.mark.parametrize("missing", ["case", "chain", "environment"])
def test_a_bundle_missing_a_part_fails_clearly(services: Services, demo: dict[str, DemoCase], tmp_path: Path,
                                               missing: str) -> None:
    done = _export(services, demo["c"].application_id, tmp_path / "c.json")
    body = orjson.loads(done.path.read_bytes())["bundle"]
    del body[missing]
    broken = tmp_path / "broken.json"
    broken.write_bytes(seal(body, key=services.settings.audit_signing_key))
    report = bundles.check_bundle(broken, signing_key=services.settings.audit_signing_key)
    assert not report.ok and ("不是完整的证据包" in report.message or "无法读取" in report.message)
    assert f"缺少{bundle_format.PART_LABELS[missing]} {missing}" in report.message


# A year no chinesecalendar release will carry soon, so the package never overrides the file.
CAL_2090 = 'year = 2090\nsource = "test notice"\nholidays = [2090-01-02]\nworkdays = []\n'


def test_a_bundle_carries_the_site_calendar_its_deadlines_were_counted_with(services: Services,
                                                                            demo: dict[str, DemoCase],
                                                                            tmp_path: Path) -> None:
    calendar_dir = tmp_path / "calendar"
    calendar_dir.mkdir()
    (calendar_dir / "2090.toml").write_text(CAL_2090, encoding="utf-8")
    site = build(services.settings.model_copy(update={"calendar_dir": calendar_dir}), clock=services.clock)
    try:
        done = _export(site, demo["c"].application_id, tmp_path / "c.json")
    finally:
        site.db.dispose()
    body = orjson.loads(done.path.read_bytes())["bundle"]
    assert body["environment"]["calendar_files"] == {"2090.toml": CAL_2090}
    assert bundles.check_bundle(done.path, signing_key=services.settings.audit_signing_key).ok
    with bundles._calendar(body["environment"]["calendar_files"]) as cal:  # what the offline replay counts with
        assert cal is not None and not cal.is_workday(date(2090, 1, 2)) and cal.is_workday(date(2090, 1, 3))
    body["environment"]["calendar_files"] = {"2090.toml": CAL_2090.replace("2090-01-02", "2089-01-02")}
    bad = tmp_path / "bad-calendar.json"
    bad.write_bytes(seal(body, key=services.settings.audit_signing_key))
    report = bundles.check_bundle(bad, signing_key=services.settings.audit_signing_key)
    assert not report.ok and "证据包中的节假日日历文件 2090.toml 无效，问题在字段 holidays[0]" in report.message
