"""A simulation end to end on a database (SQLite, or PostgreSQL when configured): the pool read in a
read-only transaction, the figures priced, the simulation recorded; the CLI and the workbook show
the same totals. Expected figures are worked out by hand (tests/sandbox/pool.py, seed.py)."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import Connection, func, select, text, update
from typer.testing import CliRunner

from app.cli import app
from services.bootstrap import Services
from services.db.models import AuditEvent, Enterprise, Honour
from services.db.models_sandbox import PolicySimulation
from services.errors import InvalidInput
from services.sandbox import run
from tests.sandbox.seed import seed

DRAFT_FILE = Path(__file__).parent / "data" / "test-sandbox-draft.toml"
W = 1_000_000


def request(**kw: object) -> run.Request:
    base: dict[str, object] = dict(draft_file=(DRAFT_FILE.name, DRAFT_FILE.read_bytes()), against="2022-109",
                                   as_of=date(2025, 10, 1), take_up="0.5")
    base.update(kw)
    return run.Request(**base)  # type: ignore[arg-type]


@pytest.fixture
def pool(services: Services) -> Services:
    seed(services)
    return services


def count(services: Services, model: type) -> int:
    with services.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def test_fixed_take_up_matches_the_hand_computed_figures(pool: Services) -> None:
    recorded = run.simulate(pool, request(), actor="bureau")
    r = recorded.result
    assert (r.total("draft").cost_cap_fen, r.total("draft").cost_ratio_fen) == (203_500_000, 172_125_000)
    assert (r.total("against").cost_cap_fen, r.total("against").cost_ratio_fen) == (181_500_000, 164_125_000)
    lgn = next(a for a in r.awards if a.honour_type == "little_giant")
    assert (lgn.ratio.value, lgn.ratio.cases) == (Decimal("0.8"), 1)
    assert {c.enterprise_id for c in r.losers} == {2, 5, 10, 14, 22, 28}
    assert r.funds[0].draft_ratio_fen == 172_125_000  # no split setting: the city's fund carries it all
    # recorded: who, which draft by hash, the figures; with its audit event
    with pool.uow() as uow:
        back = run.load(uow.session, recorded.id)
    assert back.result == r and back.actor == "bureau"
    assert back.draft_sha256 == hashlib.sha256(DRAFT_FILE.read_bytes()).hexdigest()
    with pool.uow() as uow:
        event = uow.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
        assert event is not None and event.kind == "policy.simulate"
        assert json.loads(event.payload)["simulation"] == recorded.id


def test_observed_take_up(pool: Services) -> None:
    r = run.simulate(pool, request(take_up="observed"), actor="finance").result
    lgn = next(a for a in r.awards if a.honour_type == "little_giant")
    assert (str(lgn.take_up.value), lgn.take_up.cases) == ("0.5000", 2)  # 1 of 2 decided applications paid
    srp = next(a for a in r.awards if (a.honour_type, a.level) == ("srdi_sme", "province"))
    assert (str(srp.take_up.value), srp.take_up.cases, str(srp.ratio.value)) == ("1.0000", 1, "0.7500")
    scp = next(a for a in r.awards if (a.honour_type, a.level) == ("single_champion", "province"))
    assert (str(scp.take_up.value), scp.take_up.cases) == ("0.5000", 2)  # 1 of 2 answered offers confirmed
    # draft: 小巨人 220万 × 0.5, 省单项冠军 40万 × 0.5; the rest at take-up 1: 30 + 75 + 2 + 30 + 10
    assert r.total("draft").cost_cap_fen == 277 * W
    assert r.total("draft").cost_ratio_fen == 236_250_000  # 88 + 30 + 20 + 56.25 + 2 + 30 + 10
    # current: 小巨人 120 × 0.5, 省单项冠军 40 × 0.5, and 60 + 40 + 43 + 10 + 30 + 10 + 10
    assert r.total("against").cost_cap_fen == 283 * W
    assert r.total("against").cost_ratio_fen == 260_250_000  # 48 + 20 + 60 + 40 + 32.25 + 10 + 30 + 10 + 10
    assert r.pool_enterprises == 32  # 35 less two expired honours (12, 29) and one recognised later (27)


def test_a_simulation_that_writes_fails_and_records_nothing(pool: Services) -> None:
    before = count(pool, PolicySimulation)

    def tamper(conn: Connection) -> None:
        conn.execute(update(Honour).values(level="national"))

    with pytest.raises(Exception) as caught:
        run.simulate(pool, request(), actor="bureau", reader=tamper)
    assert "read" in str(caught.value).lower()  # SQLite: readonly database; PostgreSQL: read-only transaction
    with pool.uow() as uow:
        assert uow.session.scalar(select(func.count()).where(Honour.level == "national")) == 12  # not 38
    assert count(pool, PolicySimulation) == before

    def insert(conn: Connection) -> None:
        conn.execute(text("DELETE FROM honour"))

    with pytest.raises(Exception, match=r"(?i)read"):
        run.simulate(pool, request(), actor="bureau", reader=insert)
    assert count(pool, Honour) > 0 and count(pool, PolicySimulation) == before
    # the connection went back to the pool writable: an ordinary write still works
    with pool.uow() as uow:
        uow.session.execute(update(Enterprise).where(Enterprise.id == 1).values(name="测试企业01（更名）"))
        uow.commit()


@pytest.mark.parametrize(("change", "field"), [
    ({"draft_file": ("bad.toml", b'code = "x"\n')}, "draft"),
    ({"draft_file": None, "draft": "no-such-edition"}, "draft"),
    ({"against": "2019-001"}, "against"),
    ({"as_of": date(2030, 1, 1)}, "as_of"),
    ({"take_up": "1.5"}, "take_up"),
    ({"take_up": "-0.1"}, "take_up"),
    ({"take_up": "NaN"}, "take_up"),
])
def test_bad_input_is_one_clear_error_and_nothing_is_recorded(pool: Services, change: dict, field: str) -> None:
    events = count(pool, AuditEvent)
    with pytest.raises(InvalidInput) as caught:
        run.simulate(pool, request(**change), actor="bureau")
    assert caught.value.field == field
    assert count(pool, PolicySimulation) == 0 and count(pool, AuditEvent) == events


def test_cli_and_workbook_show_the_same_totals(pool: Services, services_env: Services, tmp_path: Path) -> None:
    out = tmp_path / "sim.xlsx"
    result = CliRunner().invoke(app, ["policy", "simulate", str(DRAFT_FILE), "--against", "2022-109", "--as-of",
                                      "2025-10-01", "--take-up", "0.5", "--out", str(out), "--user", "finance"])
    assert result.exit_code == 0, result.output
    total = next(line for line in result.output.splitlines() if line.startswith("合计"))
    assert total.split(" | ")[3:7] == ["2,035,000.00", "1,815,000.00", "1,721,250.00", "1,641,250.00"]
    assert "增加奖励的企业 15 家，减少奖励的企业 6 家" in result.output
    wb = load_workbook(io.BytesIO(out.read_bytes()))
    summary = {row[0]: row[1] for row in wb["概要"].iter_rows(values_only=True)}
    assert str(summary["草案预计支出（按上限，元）"]) == "2035000"
    assert str(summary["草案预计支出（按核定比例，元）"]) == "1721250"
    assert str(summary["现行预计支出（按核定比例，元）"]) == "1641250"
    assert len(wb["奖励类型"]._charts) == 1 and len(wb["区县"]._charts) == 1
    losers = [r for r in wb["减少奖励的企业"].iter_rows(min_row=2, values_only=True)]
    assert [(r[0], r[2], str(r[5])) for r in losers[:2]] == [(2, "东湖区", "-300000"), (5, "东湖区", "-200000")]


@pytest.mark.parametrize(("args", "needle"), [
    (["policy", "simulate", "missing.toml"], "草案："),
    (["policy", "simulate", "2022-109", "--against", "nope"], "比较版本："),
    (["policy", "simulate", str(DRAFT_FILE), "--as-of", "2031-01-01"], "测算日期："),
    (["policy", "simulate", "2022-109"], "比较版本："),
    (["policy", "simulate", "2022-109", "--take-up", "2"], "申领比例："),
    (["policy", "simulate", "2022-109", "--as-of", "yesterday"], "测算日期："),
    (["policy", "simulate", "2022-109", "--user", "auditor"], "只有市中小企业局、市财政局、管理人员"),
])
def test_cli_bad_input_one_line(pool: Services, services_env: Services, args: list[str], needle: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1 and "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], result.output
    assert count(pool, PolicySimulation) == 0
