"""HTTP load: concurrent officers working their inboxes over the JSON API against `smeflow serve`
(uvicorn, a separate process) on PostgreSQL, with 1,000 and then 100,000 open work items.

    .venv/bin/python benchmarks/http_load.py [--officers 8] [--workers 2] [--per-officer 20]
        [--baseline 100] [--small 1000] [--large 100000] [--page 50] [--quiet 100] [--smoke]
        [--no-plan] [--postgres URL]

One schema (smeflow_bench_http, dropped at the end, as is the server process). Set-up: the demo data,
`--officers` district officers (bench-officer-0, ...), one per review unit in turn, each with an API
token (services/accounts/tokens.py), and the fund's budget raised. Then two phases, first with `--small` and
then with `--large` open work items in the database:

- seeding: real cases through the service layer (enterprise, honour, application: each waits at the
  district check in its unit), 2 x `--per-officer` per officer plus `--baseline` for district-donghu;
  the other open work items are bulk copies of one real case made in SQL (INSERT ... SELECT over
  generate_series, as benchmarks/sweep_scaling.py does: enterprise, honour, process instance,
  application, open work item, timer), spread over all review units, their deadlines later than
  the real ones. Then VACUUM ANALYZE and CHECKPOINT. An officer's inbox therefore holds about
  open / units items, of which it lists one page (`--page`, the API's `limit`);
- the plan of the inbox query (EXPLAIN ANALYZE of the SQL the service really sends);
- quiet inbox: one officer, `--quiet` sequential GETs of /api/v1/tasks (bearer token);
- mixed load: each officer (one httpx.AsyncClient each, all concurrent) repeats "GET the inbox,
  POST /api/v1/tasks/{id}/complete (district approve)" over `--per-officer` of its own cases;
  requests per second and the latencies of both requests;
- completion load: the officers only POST completions, over their other `--per-officer` cases;
- service layer: `--baseline` of the same completions (district approve, each its own
  transaction, `tasks.complete` as benchmarks/route_throughput.py does), one after the other, from a
  freshly wired service (no cached workflow, like the server, which never saw these cases).

The server runs with the real clock (the cases were made at the demo's date, 2024), the service-layer
completions too. Its access log goes to a temporary file. The target for the inbox: its p95 with
`--large` open work items close to that with `--small` (flat: the cost of a page, not of the table).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import os
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import func, select

from services.awards import tasks
from services.bootstrap import build
from services.db.models import WorkItem

from http_seed import BASELINE_USER, Officer, Seeder, inbox_plan  # isort: skip  # benchmarks/
from http_server import Server  # isort: skip  # benchmarks/
from pg_bulk import drop_schemas, schema_url, settings  # isort: skip  # benchmarks/

SCHEMA = "smeflow_bench_http"

# -- load ----------------------------------------------------------------------------------------------
def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


class Failure(RuntimeError):
    pass


def _check(response: httpx.Response, what: str) -> None:
    if response.status_code != 200:
        raise Failure(f"{what}: HTTP {response.status_code} {response.text[:300]}")


@dataclass
class LoadResult:
    seconds: float
    requests: int
    completions: int
    inbox: list[float]
    complete: list[float]


async def _officer(client: httpx.AsyncClient, items: list[int], page: int, with_inbox: bool,
                   inbox_ms: list[float], complete_ms: list[float]) -> None:
    for item in items:
        if with_inbox:
            t0 = time.perf_counter()
            r = await client.get("/api/v1/tasks", params={"limit": page})
            inbox_ms.append((time.perf_counter() - t0) * 1000)
            _check(r, "inbox")
            if not r.json():
                raise Failure("inbox: empty page")
        t0 = time.perf_counter()
        r = await client.post(f"/api/v1/tasks/{item}/complete", json={"decision": "approve"})
        complete_ms.append((time.perf_counter() - t0) * 1000)
        _check(r, f"complete {item}")


async def _load(base_url: str, officers: list[Officer], page: int, *, with_inbox: bool) -> LoadResult:
    clients = [httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {o.token}"}, timeout=120)
               for o in officers]
    try:
        # warm-up, untimed: every client connects, every server worker answers a few inboxes
        await asyncio.gather(*(c.get("/api/v1/tasks", params={"limit": page}) for c in clients for _ in range(3)))
        inbox_ms: list[float] = []
        complete_ms: list[float] = []
        gc.collect()
        t0 = time.perf_counter()
        await asyncio.gather(*(_officer(c, o.mixed if with_inbox else o.completes, page, with_inbox,
                                        inbox_ms, complete_ms) for c, o in zip(clients, officers, strict=True)))
        seconds = time.perf_counter() - t0
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    return LoadResult(seconds, len(inbox_ms) + len(complete_ms), len(complete_ms), inbox_ms, complete_ms)


async def _quiet(base_url: str, officer: Officer, page: int, n: int) -> list[float]:
    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {officer.token}"},
                                 timeout=120) as client:
        for _ in range(10):
            _check(await client.get("/api/v1/tasks", params={"limit": page}), "inbox")
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            r = await client.get("/api/v1/tasks", params={"limit": page})
            times.append((time.perf_counter() - t0) * 1000)
            _check(r, "inbox")
        return times


def service_layer(url: str, items: list[int]) -> float:
    """Completions per second through the service layer (district approve), each its own transaction."""
    services = build(settings(url))  # freshly wired, real clock: as the server
    with services.uow() as uow:  # connect first, outside the timing
        uow.session.execute(select(1))
    start = time.perf_counter()
    for item in items:
        with services.uow() as uow:
            tasks.complete(uow, services, item_id=item, username=BASELINE_USER, decision=tasks.Decision("approve"),
                           now=services.clock.now())
            uow.commit()
    rate = len(items) / (time.perf_counter() - start)
    services.db.dispose()
    return rate


@dataclass
class Phase:
    total: int
    copies: int = 0
    seed_seconds: float = 0.0
    quiet: list[float] = field(default_factory=list)
    mixed: LoadResult | None = None
    completes: LoadResult | None = None
    service_rate: float = 0.0

    @property
    def http_rate(self) -> float:
        assert self.completes is not None
        return self.completes.completions / self.completes.seconds


def run_phase(seeder: Seeder, server: Server, url: str, total: int, args: argparse.Namespace) -> Phase:
    phase = Phase(total)
    print(f"phase: {total:,} open work items", flush=True)
    t0 = time.perf_counter()
    baseline = seeder.phase_cases(args.per_officer, args.baseline)
    phase.copies = seeder.fill(total, echo=total >= 50_000)
    phase.seed_seconds = time.perf_counter() - t0
    mine = total / len(seeder.units)
    print(f"  seeded in {phase.seed_seconds:.1f} s: {seeder.enterprises:,} real cases so far, "
          f"{phase.copies:,} bulk copies; about {mine:,.0f} open items per unit", flush=True)
    officer = seeder.officers[0]
    if not args.no_plan:
        print(f"  inbox plan ({officer.username}, {officer.unit}, limit {args.page}):")
        print("\n".join(f"    {line}" for line in inbox_plan(url, officer.username, args.page)), flush=True)
    phase.quiet = asyncio.run(_quiet(server.base_url, officer, args.page, args.quiet))
    print(f"  quiet inbox, {args.quiet} sequential GETs: p50 {statistics.median(phase.quiet):.1f} ms, "
          f"p95 {pct(phase.quiet, 95):.1f} ms", flush=True)
    phase.mixed = m = asyncio.run(_load(server.base_url, seeder.officers, args.page, with_inbox=True))
    print(f"  mixed load, {len(seeder.officers)} officers x {args.per_officer} (inbox, complete): "
          f"{m.requests / m.seconds:.1f} requests/s; inbox p50 {statistics.median(m.inbox):.1f} / "
          f"p95 {pct(m.inbox, 95):.1f} ms; complete p50 {statistics.median(m.complete):.1f} / "
          f"p95 {pct(m.complete, 95):.1f} ms", flush=True)
    phase.completes = c = asyncio.run(_load(server.base_url, seeder.officers, args.page, with_inbox=False))
    print(f"  completion load, {len(seeder.officers)} officers x {args.per_officer}: "
          f"{phase.http_rate:.1f} completions/s; p50 {statistics.median(c.complete):.1f} / "
          f"p95 {pct(c.complete, 95):.1f} ms", flush=True)
    phase.service_rate = service_layer(url, baseline)
    print(f"  service layer, {len(baseline)} completions one after the other: {phase.service_rate:.1f} completions/s",
          flush=True)
    with seeder.services.uow() as uow:  # every completion really happened
        done = [i for o in seeder.officers for i in (*o.mixed, *o.completes)] + baseline
        left = uow.session.scalar(select(func.count()).select_from(WorkItem).where(
            WorkItem.id.in_(done), WorkItem.status != "completed"))
        assert left == 0, f"{left} work items were not completed"
    return phase


def report(phases: list[Phase], args: argparse.Namespace, server_cmd: str) -> None:
    small, large = phases
    print()
    print(f"{args.officers} concurrent officers (httpx.AsyncClient each) against `{server_cmd}`; "
          f"inbox page: limit={args.page}")
    head = f"{'':<44}" + "".join(f"{p.total:>12,} open" for p in phases)
    print(head)

    def row(label: str, values: list[float], fmt: str = "{:>17.1f}") -> None:
        print(f"{label:<44}" + "".join(fmt.format(v) for v in values))

    mixed = [cast(LoadResult, p.mixed) for p in phases]
    row("requests/s (mixed: inbox + complete)", [m.requests / m.seconds for m in mixed])
    row("inbox latency p50, ms (mixed load)", [statistics.median(m.inbox) for m in mixed])
    row("inbox latency p95, ms (mixed load)", [pct(m.inbox, 95) for m in mixed])
    row("completion latency p50, ms (mixed load)", [statistics.median(m.complete) for m in mixed])
    row("completion latency p95, ms (mixed load)", [pct(m.complete, 95) for m in mixed])
    row("inbox latency p95, ms (quiet, sequential)", [pct(p.quiet, 95) for p in phases])
    row("HTTP completions/s (completion load)", [p.http_rate for p in phases])
    row("service-layer completions/s (sequential)", [p.service_rate for p in phases])
    row("ratio HTTP / service layer", [p.http_rate / p.service_rate for p in phases], "{:>17.2f}")
    loaded = [pct(m.inbox, 95) for m in mixed]
    quiet = [pct(p.quiet, 95) for p in phases]
    print(f"inbox p95, {small.total:,} -> {large.total:,} open work items: under load {loaded[0]:.1f} -> "
          f"{loaded[1]:.1f} ms, ratio {loaded[1] / loaded[0]:.2f}; quiet {quiet[0]:.1f} -> {quiet[1]:.1f} ms, "
          f"ratio {quiet[1] / quiet[0]:.2f}  (target close to 1)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--officers", type=int, default=8, help="concurrent officers (HTTP clients)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes (smeflow serve --workers)")
    parser.add_argument("--per-officer", type=int, default=20,
                        help="completions per officer and phase, in each of the two loads")
    parser.add_argument("--baseline", type=int, default=100, help="service-layer completions per phase")
    parser.add_argument("--small", type=int, default=1_000, help="open work items, first phase")
    parser.add_argument("--large", type=int, default=100_000, help="open work items, second phase")
    parser.add_argument("--page", type=int, default=50, help="inbox page size (the API's limit, at most 500)")
    parser.add_argument("--quiet", type=int, default=100, help="sequential inbox GETs per phase")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, a quick check that it all works")
    parser.add_argument("--no-plan", action="store_true", help="do not print the inbox query's plan")
    parser.add_argument("--postgres", default=os.environ.get(
        "SMEFLOW_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    if args.smoke:
        args.officers, args.workers, args.per_officer, args.baseline = 2, 1, 3, 3
        args.small, args.large, args.page, args.quiet = 100, 1_000, 20, 10
    if not args.postgres.startswith("postgresql"):
        parser.error("--postgres must be a PostgreSQL URL")
    if min(args.officers, args.workers, args.per_officer, args.baseline, args.quiet) < 1:
        parser.error("--officers, --workers, --per-officer, --baseline and --quiet must be positive")
    if not 1 <= args.page <= 500:
        parser.error("--page must be between 1 and 500")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the clean-up below
    started = time.perf_counter()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
    server: Server | None = None
    seeder: Seeder | None = None
    phases: list[Phase] = []
    server_cmd = f"smeflow serve --workers {args.workers}"
    try:
        with tempfile.TemporaryDirectory(prefix="smeflow-http-") as tmp:
            try:
                url = schema_url(args.postgres, SCHEMA)
                seeder = Seeder(url, args.officers)
                server = Server(url, args.workers, Path(tmp))
                server.wait_ready()
                print(f"{server_cmd} on {server.base_url} (pid {server.proc.pid}), schema {SCHEMA}", flush=True)
                for total in (args.small, args.large):
                    phases.append(run_phase(seeder, server, url, total, args))
            except Failure:
                if server is not None:
                    print(f"server log (tail):\n{server.log_tail()}", file=sys.stderr)
                raise
            finally:
                if server is not None:
                    server.stop()
                if seeder is not None:
                    seeder.services.db.dispose()
    finally:
        drop_schemas(args.postgres, [SCHEMA])
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    report(phases, args, server_cmd)
    print(f"total run time: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
