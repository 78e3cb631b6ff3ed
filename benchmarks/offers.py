"""免申即享 on PostgreSQL: import a 100,000-row recognition list, then open a call for which 10,000
enterprises qualify and make their offers; the baseline is the same kind of case started one by one
through the service layer (services.awards.applications.apply, one transaction each) in the same run.

    .venv/bin/python benchmarks/offers.py [--rows 100000] [--qualifying 10000] [--baseline 1000] [--postgres URL]

The list is generated (made-up credit codes, test data): `--qualifying` rows are national 专精特新
“小巨人” honours (the call's award), the rest 创新型中小企业 (pool only). Prints the import's rows/s and
peak memory (the process's peak RSS growth over the import, and Python's tracemalloc peak of a
10,000-row import), offers started per second, the one-by-one baseline per second, and their ratio.
Each phase runs in its own scratch schema, dropped at the end.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select
from stdnum.cn import uscc as uscc_check

from services.awards import applications, calls
from services.bootstrap import Services, build
from services.db.models import Enterprise, Honour
from services.pool.batches import import_list
from services.pool.offers import make_offers
from services.setup import initialise
from services.time.clock import ManualClock

from pg_bulk import drop_schemas, schema_url, settings  # isort: skip  # benchmarks/

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NOW = datetime(2024, 6, 3, 9, tzinfo=ZoneInfo("Asia/Shanghai"))
AWARD = "m2-little-giant-national"
HEADER = ["统一社会信用代码", "企业名称", "荣誉类型", "级别", "认定文号", "认定日期", "有效期"]


def code(n: int) -> str:
    base = f"91360102{n:09d}"
    return base + uscc_check.calc_check_digit(base)


def recognition_list(rows: int, qualifying: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for i in range(rows):
        if i < qualifying:
            writer.writerow([code(i), f"测试小巨人企业{i}", "专精特新“小巨人”企业", "国家级", f"工信测字〔2024〕{i}号",
                             "2024-01-10", "3年"])
        else:
            writer.writerow([code(i), f"测试创新型企业{i}", "创新型中小企业", "江西省", f"赣工信测字〔2024〕{i}号",
                             "2024-03-01", "3年"])
    return out.getvalue().encode()


def setup(url: str) -> Services:
    services = build(settings(url, data_dir=Path(tempfile.mkdtemp()), pool_import_max_bytes=64 * 1024 * 1024),
                     clock=ManualClock(NOW))
    initialise(services)
    with services.uow() as uow:
        calls.create_fund(uow.session, code="bench", name="基准测试资金", year=2024, budget_fen=10**15, actor="bench",
                          now=NOW)
        uow.commit()
    return services


def open_call(services: Services) -> int:
    with services.uow() as uow:
        call = calls.open_call(uow.session, edition=services.editions[0], title="基准测试批次",
                               opens_on=date(2024, 6, 1),
                               closes_on=date(2024, 6, 30), award_types=[AWARD], fund_code="bench", actor="bench",
                               now=NOW)
        uow.commit()
        return call.id


def run_import(services: Services, content: bytes, name: str) -> float:
    start = time.perf_counter()
    with services.uow() as uow:
        report = import_list(uow, services, content=content, filename=name, actor="bench", now=NOW)
        uow.commit()
    assert report.error_count == 0 and report.batch_id, report.errors[:3]
    return time.perf_counter() - start


def one_by_one(services: Services, call_id: int, count: int) -> float:
    """Seconds to start `count` cases of the same award through the service layer, one transaction each."""
    with services.uow() as uow:
        pairs = uow.session.execute(select(Enterprise.id, Honour.id).join(Honour, Honour.enterprise_id == Enterprise.id)
                                    .where(Honour.honour_type == "little_giant").order_by(Enterprise.id)
                                    .limit(count)).all()
    start = time.perf_counter()
    for eid, hid in pairs:
        with services.uow() as uow:
            applications.apply(uow, services, call_id=call_id, enterprise_id=eid, award_type_code=AWARD, honour_id=hid,
                               requested_fen=30_000_000, description="", actor="bench", now=NOW,
                               today=date(2024, 6, 3))
            uow.commit()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--qualifying", type=int, default=10_000)
    parser.add_argument("--baseline", type=int, default=1_000, help="cases started one by one for the baseline")
    parser.add_argument("--postgres", default=os.environ.get("SMEFLOW_BENCH_DATABASE_URL", DEFAULT_PG))
    args = parser.parse_args()
    schemas = ["smeflow_bench_offers", "smeflow_bench_offers_base", "smeflow_bench_offers_mem"]
    try:
        content = recognition_list(args.rows, args.qualifying)
        print(f"list: {args.rows:,} rows, {len(content) / 1e6:.1f} MB, {args.qualifying:,} qualifying")

        mem = setup(schema_url(args.postgres, schemas[2]))
        small = recognition_list(10_000, 1_000)
        tracemalloc.start()
        run_import(mem, small, "small.csv")
        _, traced = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        mem.db.dispose()

        services = setup(schema_url(args.postgres, schemas[0]))
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        seconds = run_import(services, content, "list.csv")
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"import: {seconds:.2f} s, {args.rows / seconds:,.0f} rows/s; peak RSS {rss_after / 1024:.0f} MiB "
              f"(+{(rss_after - rss_before) / 1024:.0f} MiB during the import); tracemalloc peak of a 10,000-row "
              f"import {traced / 2**20:.1f} MiB")

        call_id = open_call(services)
        start = time.perf_counter()
        with services.uow() as uow:
            made = make_offers(uow, services, call_id=call_id, actor="bench", now=NOW)
            uow.commit()
        offer_seconds = time.perf_counter() - start
        assert made == args.qualifying, made
        offers_rate = made / offer_seconds
        print(f"offers: {made:,} started in {offer_seconds:.2f} s, {offers_rate:,.1f} offers/s (one transaction)")
        services.db.dispose()

        base = setup(schema_url(args.postgres, schemas[1]))
        run_import(base, recognition_list(args.baseline, args.baseline), "baseline.csv")
        base_call = open_call(base)
        base_seconds = one_by_one(base, base_call, args.baseline)
        base_rate = args.baseline / base_seconds
        print(f"baseline: {args.baseline:,} cases one by one through the service layer in {base_seconds:.2f} s, "
              f"{base_rate:,.1f} cases/s")
        print(f"ratio offers / one by one: {offers_rate / base_rate:.2f}")
        base.db.dispose()
    finally:
        drop_schemas(args.postgres, schemas)


if __name__ == "__main__":
    main()
