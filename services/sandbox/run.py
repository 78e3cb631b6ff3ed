"""One simulation end to end: resolve and check the input, read the pool in a read-only transaction,
price, then record it in its own short write transaction (with its audit event).

Bad input (a draft that does not validate, an unknown comparison edition, a date outside both
editions, a take-up outside 0..1) raises InvalidInput before anything is read or recorded.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from services.accounts.access import require_role
from services.audit import chain as audit
from services.awards.claims import local_today
from services.db.models import User
from services.db.models_sandbox import PolicySimulation
from services.errors import NotFound
from services.sandbox import drafts, reading
from services.sandbox.model import Rate, SimulationResult, result_from_json, result_to_json
from services.sandbox.pricing import Options, price

if TYPE_CHECKING:
    from services.bootstrap import Services

__all__ = ["SANDBOX_ROLES", "Recorded", "Request", "load", "matching_share", "recent", "require_sandbox", "simulate"]

SANDBOX_ROLES = ("bureau", "finance", "manager")


def require_sandbox(user: User) -> None:
    """Forbidden unless the user is the bureau, the finance bureau or a manager."""
    require_role(user, *SANDBOX_ROLES)


def matching_share(services: Services) -> Decimal:
    """The share (0..1) of each award that the enterprise's district matching fund carries.

    The one place the sandbox reads the split: the yearly round's setting ``district_matching_percent``
    (percent of each payout drawn from the district's matching fund) where the settings have it, else 0
    (the city's fund carries all).
    """
    percent = getattr(services.settings, "district_matching_percent", None)
    return Decimal(int(percent)) / 100 if percent is not None else Decimal(0)


@dataclass(frozen=True)
class Request:
    """What to simulate: a stored edition code or a file's bytes (with its name) as the draft."""

    draft: str | None = None
    draft_file: tuple[str, bytes] | None = None
    against: str | None = None
    as_of: date | None = None
    take_up: str = "observed"


@dataclass(frozen=True)
class Recorded:
    id: int
    actor: str
    created_at: Any
    draft_sha256: str
    draft_source: str
    result: SimulationResult


def simulate(services: Services, request: Request, *, actor: str,
             reader: Callable[[Connection], None] | None = None) -> Recorded:
    """Price the draft and record the simulation; ``reader`` (tests) runs inside the read-only transaction.

    The caller holds no transaction of its own meanwhile (on SQLite a held write lock would block the
    record)."""
    if request.draft_file is not None:
        name, data = request.draft_file
        draft = drafts.read_draft_file(data, name)
    else:
        draft = drafts.stored_draft(services.editions, request.draft or "")
    fixed = drafts.parse_take_up(request.take_up)
    today = local_today(services)
    as_of = request.as_of or (today if draft.edition.in_force_on(today) else draft.edition.in_force_from)
    against = drafts.choose_against(services.editions, draft.edition, request.against, as_of)
    drafts.check_as_of(as_of, draft.edition, against)
    with _collector_paused(), reading.read_only(services.db) as conn:
        if reader is not None:
            reader(conn)
        pool = reading.pool_rows(conn, as_of=as_of)
        paid = reading.paid_awards(conn)
        observed = reading.observed_rates(conn, today=today)
    if fixed is None:
        take_up, mode = observed.take_up, "observed"
    else:
        rate = Rate(fixed, None, "指定领取率")
        kinds = {(a.honour_type, a.level) for e in (draft.edition, against) for a in e.award_types}
        take_up, mode = dict.fromkeys(kinds, rate), str(fixed)
    names = {u.code: u.name_zh for u in services.units}
    options = Options(as_of=as_of, take_up=take_up, ratio=observed.ratio, take_up_mode=mode,
                      highest_only=services.settings.honours_highest_only,
                      after_lower_paid=str(getattr(services.settings, "higher_award_after_lower_paid", "difference")),
                      matching_share=matching_share(services))
    with _collector_paused():
        result = price(draft.edition, against, pool, paid, options, unit_name=lambda c: names.get(c, c))
        del pool
    return _record(services, result, draft, actor)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while the pool's rows are built and priced: they are
    hundreds of thousands of tuples with no reference cycles, and the collector's repeated passes
    over them would double the time. Reference counting still frees everything as usual."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _record(services: Services, result: SimulationResult, draft: drafts.Draft, actor: str) -> Recorded:
    now = services.clock.now()
    with services.uow() as uow:
        row = PolicySimulation(created_at=now, actor=actor, draft_code=result.draft_code, draft_sha256=draft.sha256,
                               draft_source=draft.source[:200], against_code=result.against_code, as_of=result.as_of,
                               take_up=result.take_up_mode,
                               figures=result_to_json(result).decode())
        uow.session.add(row)
        uow.session.flush()
        audit.append(uow.session, kind="policy.simulate", actor=actor, at=now,
                     payload={"simulation": row.id, "draft": result.draft_code, "draft_sha256": draft.sha256,
                              "against": result.against_code, "as_of": result.as_of.isoformat(),
                              "take_up": result.take_up_mode})
        uow.commit()
        return Recorded(row.id, actor, now, draft.sha256, row.draft_source, result)


def load(session: Session, simulation_id: int) -> Recorded:
    """A recorded simulation, its figures read back from its JSON."""
    row = session.get(PolicySimulation, simulation_id)
    if row is None:
        raise NotFound(f"测算 #{simulation_id} 不存在")
    result = result_from_json(row.figures)
    return Recorded(row.id, row.actor, row.created_at, row.draft_sha256, row.draft_source, result)


def recent(session: Session, limit: int = 20) -> list[PolicySimulation]:
    """The latest recorded simulations, newest first."""
    return list(session.scalars(select(PolicySimulation).order_by(PolicySimulation.id.desc()).limit(limit)))
