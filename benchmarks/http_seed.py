"""The HTTP benchmark's data: officers with API tokens, real cases through the service layer, bulk copies
in SQL (benchmarks/pg_bulk.py), and the plan of the inbox query as the service sends it."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, func, select

from services.accounts import tokens, users
from services.awards import enterprises, inbox
from services.awards.demo import START, Demo, demo_uscc
from services.bootstrap import build
from services.db.models import Fund, User, WorkItem
from services.setup import initialise
from services.time.clock import ManualClock
from tests.helpers import apply_for

from pg_bulk import clone_open_cases, settings  # isort: skip  # benchmarks/

AWARD = "m2-srdi-sme-city"
AMOUNT = 50_000_00
BASELINE_USER = "district-donghu"  # a demo officer
PASSWORD = "bench-password"
TODAY = date(2024, 6, 3)  # the demo's date: the call is open
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Officer:
    username: str
    unit: str
    token: str
    mixed: list[int] = field(default_factory=list)  # work items for the mixed load
    completes: list[int] = field(default_factory=list)  # work items for the completion load


class Seeder:
    """Builds the data through the service layer (manual clock at the demo's date) and in bulk SQL."""

    def __init__(self, url: str, n_officers: int) -> None:
        self.services = build(settings(url), clock=ManualClock(START))
        initialise(self.services)
        Demo(self.services, echo=False).load()
        self.enterprises = 0
        self.template_app = 0
        s = self.services
        with s.uow() as uow:
            session = uow.session
            session.scalars(select(Fund)).one().budget_fen = 10**15
            self.units = [u.code for u in s.units
                          if (u.valid_from is None or u.valid_from <= TODAY)
                          and (u.valid_until is None or u.valid_until >= TODAY)]
            self.officers = []
            for k in range(n_officers):
                unit = self.units[k % len(self.units)]
                user = users.create_user(session, hasher=s.password_hasher, username=f"bench-officer-{k}",
                                         display_name=f"基准经办人{k}", role="district", password=PASSWORD,
                                         review_unit_code=unit)
                token, _row = tokens.issue(session, user=user, name="bench", now=datetime.now(UTC),
                                           days=s.settings.api_token_days, max_days=s.settings.api_token_days)
                self.officers.append(Officer(user.username, unit, token))
            uow.commit()

    def cases(self, units: list[str]) -> list[int]:
        """One real case per entry of `units`, waiting at the district check there; their work item ids."""
        s = self.services
        first = self.enterprises
        with s.uow() as uow:
            for unit in units:
                n = self.enterprises
                self.enterprises += 1
                ent = enterprises.register(uow.session, uscc=demo_uscc(30_000 + n), name=f"HTTP基准企业{n}",
                                           review_unit_code=unit, email=None, actor="bench",
                                           now=s.clock.now(), today=TODAY)
                enterprises.add_honour(uow.session, enterprise_id=ent.id, honour_type="srdi_sme", level="city",
                                       recognised_on=date(2023, 1, 1), document_no=f"H{n}", issuer=None,
                                       editions=s.editions, actor="bench", now=s.clock.now())
            uow.commit()
        apps = [apply_for(s, f"HTTP基准企业{n}", AWARD, AMOUNT) for n in range(first, self.enterprises)]
        with s.uow() as uow:
            by_app = dict(uow.session.execute(select(WorkItem.application_id, WorkItem.id).where(
                WorkItem.application_id.in_(apps), WorkItem.status == "open", WorkItem.role == "district")).all())
        assert len(by_app) == len(apps), "a new case is not waiting at the district check"
        return [by_app[a] for a in apps]

    def open_items(self) -> int:
        with self.services.uow() as uow:
            return uow.session.scalar(select(func.count()).select_from(WorkItem)
                                      .where(WorkItem.status == "open")) or 0

    def phase_cases(self, per_officer: int, baseline: int) -> list[int]:
        """The real cases of one phase, handed out to the officers; the baseline's item ids."""
        plan = [o.unit for o in self.officers for _ in range(2 * per_officer)] + ["donghu"] * baseline
        if not self.template_app:
            plan.append(self.units[-1])  # the template of the bulk copies, never completed
        items = self.cases(plan)
        for k, officer in enumerate(self.officers):
            mine = items[2 * per_officer * k: 2 * per_officer * (k + 1)]
            officer.mixed, officer.completes = mine[:per_officer], mine[per_officer:]
        rest = items[2 * per_officer * len(self.officers):]
        if not self.template_app:
            with self.services.uow() as uow:
                self.template_app = uow.session.get_one(WorkItem, rest.pop()).application_id
        return rest

    def fill(self, total: int, *, echo: bool) -> int:
        """Bulk copies of the template case until `total` work items are open; how many were copied."""
        copies = total - self.open_items()
        if copies < 0:
            raise SystemExit(f"the real cases alone are more than {total:,} open work items: "
                             "lower --per-officer/--baseline/--officers or raise --small")
        # deadlines 30 to 394 days after the template's, spread over the units
        clone_open_cases(self.services, self.template_app, copies, units=self.units, echo=echo,
                         due="t.due_at + interval '30 days' + (g % 365) * interval '1 day'")
        assert self.open_items() == total
        return copies


def inbox_plan(url: str, username: str, page: int) -> list[str]:
    """EXPLAIN ANALYZE of the inbox query exactly as services/awards/inbox.py sends it for `username`."""
    services = build(settings(url))
    sent: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if "FROM work_item" in statement and "LIMIT" in statement:
            sent.append((statement, parameters))

    event.listen(services.db, "before_cursor_execute", grab)
    try:
        with services.uow() as uow:
            user = uow.session.scalars(select(User).where(User.username == username)).one()
            now = services.clock.now()
            inbox.inbox_rows(uow.session, user, now=now, soon_before=inbox.soon_cutoff(services, now), limit=page)
    finally:
        event.remove(services.db, "before_cursor_execute", grab)
    statement, parameters = sent[-1]
    with services.db.connect() as conn:
        plan = [row[0] for row in conn.exec_driver_sql(f"EXPLAIN (ANALYZE, COSTS OFF) {statement}", parameters)]
    services.db.dispose()
    return plan
