"""Ledger import: 10,000 and 100,000 rows through `services.arrears.ledger_import` (the code the CLI
and the upload page use), on PostgreSQL (a schema of its own, dropped afterwards) or SQLite.

    .venv/bin/python benchmarks/ledger_import.py [--rows 10000 100000] [--postgres URL | --sqlite]
                                                 [--tracemalloc]

Prints, per size: import time, rows per second, peak memory (the process's peak RSS, and with
--tracemalloc the peak of Python allocations during the import, which slows it down), and the
baseline run alongside: reading and parsing the same CSV without validating or writing, with the
ratio import / baseline. The file is generated: three debtors (a government body, a public
institution, a large enterprise under the 2025 rules), 5,000 creditors, distinct contracts.
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
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from config.settings import Settings
from services.arrears import registry
from services.arrears.demo import make_uscc
from services.arrears.ledger_import import import_ledger
from services.bootstrap import Services, build
from services.setup import initialise
from services.time.clock import ManualClock

from pg_bulk import drop_schemas, schema_url  # isort: skip  # benchmarks/

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SCHEMA = "smeflow_bench_ledger"
DEBTORS = [(make_uscc("11", 1), "government"), (make_uscc("12", 2), "institution"),
           (make_uscc("91", 3), "large_enterprise")]
HEADER = ["creditor_uscc", "creditor_name", "debtor_uscc", "contract_no", "signed_on", "delivered_on", "amount"]


def ledger(rows: int, tag: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for i in range(rows):
        debtor, kind = DEBTORS[i % 3]
        signed = "2025-06-01" if kind == "large_enterprise" else "2024-01-10"
        writer.writerow([make_uscc("91", 100_000 + i % 5000), f"企业{i % 5000}", debtor, f"{tag}-{i:07d}", signed,
                         "2025-06-03", f"{1000 + i}.{i % 100:02d}"])
    return out.getvalue().encode()


def baseline(content: bytes) -> float:
    """Seconds to decode and parse the CSV into rows, nothing else."""
    start = time.perf_counter()
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows
    return time.perf_counter() - start


def setup(url: str) -> Services:
    services = build(Settings(database_url=url, environment="test", data_dir=Path(tempfile.mkdtemp())),
                     clock=ManualClock(datetime(2025, 7, 1, 9, tzinfo=ZoneInfo("Asia/Shanghai"))))
    initialise(services)
    now = services.clock.now()
    with services.uow() as uow:
        for n, (code, kind) in enumerate(DEBTORS):
            registry.add_debtor(uow.session, uscc=code, name=f"债务人{n}", kind=kind, department="donghu",
                                actor="bench", now=now)
        uow.commit()
    return services


def run(services: Services, rows: int, *, trace: bool) -> None:
    content = ledger(rows, f"R{rows}")
    base = min(baseline(content) for _ in range(3))
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    with services.uow() as uow:
        report = import_ledger(uow, services, content=content, filename=f"ledger-{rows}.csv", actor="bench",
                               now=services.clock.now())
        uow.commit()
    elapsed = time.perf_counter() - start
    traced = tracemalloc.get_traced_memory()[1] if trace else None
    if trace:
        tracemalloc.stop()
    assert report.created == rows and report.error_count == 0, (report.created, report.errors[:3])
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    line = (f"{rows:>7} rows: {elapsed:7.2f} s  {rows / elapsed:9,.0f} rows/s  peak RSS {rss:6.0f} MiB"
            + (f"  peak Python allocations {traced / 2**20:6.0f} MiB" if traced is not None else ""))
    print(line)
    print(f"{'':>7}       baseline (parse only): {base:.2f} s  {rows / base:,.0f} rows/s  ratio import/baseline "
          f"{elapsed / base:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--postgres", default=os.environ.get("SMEFLOW_BENCH_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--sqlite", action="store_true", help="a temporary SQLite file instead of PostgreSQL")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations (slower)")
    args = parser.parse_args()
    if args.sqlite:
        url, cleanup = f"sqlite:///{tempfile.mkdtemp()}/bench.db", None
    else:
        url, cleanup = schema_url(args.postgres, SCHEMA), args.postgres
    print(f"ledger import on {url.split('@')[-1]} (load average {os.getloadavg()[0]:.1f})")
    services = setup(url)
    try:
        for rows in args.rows:
            run(services, rows, trace=args.tracemalloc)
    finally:
        services.db.dispose()
        if cleanup is not None:
            drop_schemas(cleanup, [SCHEMA])


if __name__ == "__main__":
    main()
