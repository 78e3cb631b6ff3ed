"""Policy sandbox: one draft edition priced against the current edition on a pool of 100,000
enterprises with 300,000 honours over the 12 award types of edition 2022-109, through
`services.sandbox.run.simulate` (the code the CLI and the page use: the draft file parsed, the pool,
payouts and observed rates read in a read-only transaction, both editions priced, the result
recorded as JSON with its audit event), on SQLite (default) or PostgreSQL (a scratch schema).

    .venv/bin/python benchmarks/sandbox.py [--enterprises 100000] [--honours 300000] [--repeat 3]
                                           [--postgres URL | --sqlite]

Baseline, measured in the same run on the same database: one plain SQL scan of the honour table
(`SELECT * FROM honour`, every row fetched through the same driver). Prints the best of --repeat
runs of each and the ratio simulation / scan (target: within 5×).

The draft is benchmark data, not policy: 2022-109's award types with caps raised by a fifth, in
force 2025-09-02 to 2028-09-01, covering honours from 2023-01-01.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert

from config.policy import POLICY_DIR
from services.bootstrap import Services, build
from services.db.models import Enterprise, Honour
from services.db.models_pool import HonourSource, RecognitionBatch
from services.sandbox import run
from services.setup import initialise
from services.time.clock import ManualClock

from pg_bulk import drop_schemas, schema_url, settings  # isort: skip  # benchmarks/

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SCHEMA = "smeflow_bench_sandbox"
UNITS = ["donghu", "xihu", "qingyunpu", "qingshanhu", "xinjian", "honggutan", "nanchang_county", "jinxian", "anyi",
         "gaoxin", "jingkai", "xiaolan"]
CHUNK = 20_000
NOW = datetime(2025, 10, 1, 2, 0, tzinfo=UTC)


def draft_text() -> bytes:
    """2022-109 with caps × 1.2 and new dates, marked as benchmark data."""
    text = (POLICY_DIR / "2022-109.toml").read_text()
    text = re.sub(r'^code = "2022-109"', 'code = "bench-draft"', text, flags=re.M)
    text = re.sub(r"^title = .*$", 'title = "基准测试数据：沙盘测算用草案（非真实政策）"', text, flags=re.M)
    text = text.replace("in_force_from = 2022-09-01", "in_force_from = 2025-09-02")
    text = text.replace("in_force_until = 2025-09-01", "in_force_until = 2028-09-01")
    text = text.replace("coverage_from = 2021-01-01", "coverage_from = 2023-01-01")
    text = re.sub(r'code = "(m\d+-[a-z-]+)"', r'code = "bench-\1"', text)
    return re.sub(r"cap_fen = (\d[\d_]*)", lambda m: f"cap_fen = {int(m.group(1).replace('_', '')) * 6 // 5}",
                  text).encode()


def load_pool(services: Services, enterprises: int, honours: int) -> None:
    kinds = [(a.honour_type, a.level) for a in services.editions[0].award_types]
    rnd = random.Random(11)
    with services.db.begin() as conn:
        conn.execute(insert(RecognitionBatch), [dict(
            id=1, sha256="b" * 64, filename="bench.csv", imported_at=NOW, imported_by="bench", rows_total=honours,
            honours_created=honours, honours_existing=0, rows_rejected=0, enterprises_created=enterprises,
            names_flagged=0)])
        for start in range(0, enterprises, CHUNK):
            conn.execute(insert(Enterprise), [dict(
                id=i + 1, uscc=f"91360100B{i:09d}", name=f"基准企业{i}", review_unit_code=UNITS[i % len(UNITS)],
                created_at=NOW) for i in range(start, min(enterprises, start + CHUNK))])
        for start in range(0, honours, CHUNK):
            rows, sources = [], []
            for h in range(start, min(honours, start + CHUNK)):
                eid = h % enterprises + 1
                kind = kinds[rnd.randrange(len(kinds))]
                rec = date(2020, 1, 1) + timedelta(days=rnd.randrange(6 * 365))
                rows.append(dict(id=h + 1, enterprise_id=eid, honour_type=kind[0], level=kind[1], recognised_on=rec,
                                 document_no=f"BENCH-{h}"))
                sources.append(dict(honour_id=h + 1, batch_id=1, line=h + 2, enterprise_id=eid, honour_type=kind[0],
                                    level=kind[1], document_no=f"BENCH-{h}", valid_until=rec + timedelta(days=3 * 365)))
            conn.execute(insert(Honour), rows)
            conn.execute(insert(HonourSource), sources)


def best(fn, repeat: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--enterprises", type=int, default=100_000)
    parser.add_argument("--honours", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=3)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--postgres", nargs="?", const=DEFAULT_PG, default=None)
    where.add_argument("--sqlite", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = schema_url(args.postgres, SCHEMA) if args.postgres else f"sqlite:///{tmp}/bench.db"
        services = build(settings(url, data_dir=Path(tmp)), clock=ManualClock(NOW))
        try:
            initialise(services)
            t0 = time.perf_counter()
            load_pool(services, args.enterprises, args.honours)
            print(f"database: {services.db.dialect.name}; pool loaded in {time.perf_counter() - t0:.1f} s: "
                  f"{args.enterprises:,} enterprises, {args.honours:,} honours, 12 award types")
            with services.db.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
                conn.commit()

            def scan() -> int:
                with services.db.connect() as conn:
                    return len(conn.exec_driver_sql("SELECT * FROM honour").fetchall())

            data = draft_text()

            def simulate() -> run.Recorded:
                return run.simulate(services, run.Request(draft_file=("bench-draft.toml", data), against="2022-109",
                                                          as_of=date(2025, 10, 1)), actor="bench")

            scan()  # warm the cache for both
            scan_s, rows = best(scan, args.repeat)
            sim_s, rec = best(simulate, args.repeat)
            assert isinstance(rec, run.Recorded)
            r = rec.result
            print(f"plain scan of honour ({rows:,} rows): {scan_s * 1000:.0f} ms (best of {args.repeat})")
            print(f"simulate one draft against 2022-109: {sim_s * 1000:.0f} ms (best of {args.repeat}); "
                  f"ratio simulate / scan = {sim_s / scan_s:.2f}× (target ≤ 5×)")
            print(f"  priced {r.pool_enterprises:,} enterprises / {r.pool_honours:,} honours; "
                  f"awards draft {r.total('draft').awards:,} vs current {r.total('against').awards:,}; "
                  f"gainers {len(r.gainers):,}, losers {len(r.losers):,}")
        finally:
            services.db.dispose()
            if args.postgres:
                drop_schemas(args.postgres, [SCHEMA])


if __name__ == "__main__":
    main()
