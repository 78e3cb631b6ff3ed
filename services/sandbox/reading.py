"""Reading the sandbox's inputs from the database, in a read-only transaction.

PostgreSQL runs the reads under ``SET TRANSACTION READ ONLY``; SQLite under ``PRAGMA query_only``
(and a deferred ``BEGIN``, so no write lock is taken). Whatever runs inside :func:`read_only`, a
write fails there with the database's own error and nothing is changed.

The pool is every enterprise with at least one honour; an honour's validity (``valid_until``) comes
from the pool's import record (``honour_source``; none for an honour entered by hand). Observed take-up per award
kind (honour type, level) rests on past calls (closed before ``today``): the share of offers made
without an application (免申即享) that were confirmed (an offer still waiting is not counted; one that
lapsed or was declined was not taken up), times the share of decided applications
(paid or rejected) that were paid; each share says how many cases it rests on. The observed
award/cap ratio is the mean of awarded ÷ cap over paid applications. Rates are rounded half up to
four decimal places.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Connection, Engine, or_, select

from services.db.models import Application, AwardType, Call, Enterprise, Payout
from services.db.models_pool import Offer
from services.sandbox.model import PaidAward, PoolEnterprise, PoolHonour, Rate

__all__ = ["Observed", "observed_rates", "paid_awards", "pool_rows", "read_only"]

Kind = tuple[str, str]
_PLACES = Decimal("0.0001")
#: an offer still waiting for the enterprise's confirmation (services.pool's first step of the route)
_OFFER_STEP = "confirm_offer"
#: how an offer ends without being taken up
_OFFER_NOT_TAKEN = ("lapsed", "declined")


@contextmanager
def read_only(db: Engine) -> Iterator[Connection]:
    """A connection inside a read-only transaction, rolled back at the end."""
    sqlite = db.dialect.name == "sqlite"
    with db.connect() as conn:
        conn = conn.execution_options(smeflow_read_only=True)
        try:
            if sqlite:
                conn.exec_driver_sql("PRAGMA query_only = ON")
            else:
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            yield conn
        finally:
            conn.rollback()
            if sqlite:  # the pragma outlives the transaction: clear it before the pool reuses the connection
                conn.exec_driver_sql("PRAGMA query_only = OFF")
                conn.rollback()


def pool_rows(conn: Connection, *, as_of: date) -> list[PoolEnterprise]:
    """Every enterprise holding an honour valid on ``as_of`` (recognised by then, not expired), with
    those honours, ordered by id. (The pricing checks the same; the database just sends fewer rows.)

    The honours come through the driver as plain rows (the date is a literal, so the statement is the
    same on both databases), dates made ``date`` here where the driver gives text (SQLite): at 300,000
    honours this is several times faster than typed ORM rows."""
    names = {r[0]: (r[1], r[2]) for r in conn.execute(
        select(Enterprise.id, Enterprise.name, Enterprise.review_unit_code)).all()}
    day = as_of.isoformat()  # a date's ISO text: no quoting needed
    rows = conn.exec_driver_sql(
        "SELECT h.enterprise_id, h.id, h.honour_type, h.level, h.recognised_on, s.valid_until "
        "FROM honour h LEFT JOIN honour_source s ON s.honour_id = h.id "
        f"WHERE h.recognised_on <= '{day}' AND (s.valid_until IS NULL OR s.valid_until >= '{day}') "
        "ORDER BY h.enterprise_id, h.id").fetchall()
    text_dates = bool(rows) and isinstance(rows[0][4], str)
    iso = date.fromisoformat
    pool: list[PoolEnterprise] = []
    current, honours = None, []  # type: ignore[var-annotated]
    for eid, hid, kind, level, recognised, until in rows:
        if eid != current:
            if current is not None:
                pool.append(PoolEnterprise(current, *names[current], tuple(honours)))
            current, honours = eid, []
        if text_dates:
            recognised = iso(recognised)
            until = iso(until) if until is not None else None
        honours.append(PoolHonour(hid, kind, level, recognised, until))
    if current is not None:
        pool.append(PoolEnterprise(current, *names[current], tuple(honours)))
    return pool


def paid_awards(conn: Connection) -> list[PaidAward]:
    """Every award paid so far, with the honour it was paid for."""
    rows = conn.execute(
        select(Payout.enterprise_id, Application.honour_id, AwardType.measure, AwardType.honour_type,
               AwardType.level, Payout.amount_fen)
        .join(Application, Application.id == Payout.application_id)
        .join(AwardType, AwardType.code == Payout.award_type_code)).all()
    return [PaidAward(*r) for r in rows]


class Observed:
    """Observed take-up and award/cap ratio per award kind (honour type, level)."""

    def __init__(self, take_up: dict[Kind, Rate], ratio: dict[Kind, Rate]) -> None:
        self.take_up = take_up
        self.ratio = ratio


def _share(part: int, whole: int) -> Decimal:
    return (Decimal(part) / Decimal(whole)).quantize(_PLACES, rounding=ROUND_HALF_UP) if whole else Decimal(1)


def observed_rates(conn: Connection, *, today: date) -> Observed:
    """Take-up and award/cap ratio per kind from the calls closed before ``today``."""
    past = or_(Call.closes_on < today, Call.closed_early.is_(True))
    kind_cols = (AwardType.honour_type, AwardType.level)
    apps = conn.execute(
        select(*kind_cols, Application.status, Application.awarded_fen, AwardType.cap_fen)
        .join(AwardType, AwardType.code == Application.award_type_code)
        .join(Call, Call.id == Application.call_id).where(past)).all()
    decided: dict[Kind, int] = defaultdict(int)
    paid: dict[Kind, int] = defaultdict(int)
    ratios: dict[Kind, list[Decimal]] = defaultdict(list)
    for ht, lv, status, awarded, cap in apps:
        if status in ("paid", "rejected"):
            decided[(ht, lv)] += 1
        if status == "paid":
            paid[(ht, lv)] += 1
            if awarded:
                ratios[(ht, lv)].append(Decimal(awarded) / Decimal(cap))
    offered: dict[Kind, int] = defaultdict(int)
    confirmed: dict[Kind, int] = defaultdict(int)
    offers = conn.execute(
        select(*kind_cols, Application.status, Application.stage)
        .select_from(Offer).join(Application, Application.id == Offer.application_id)
        .join(AwardType, AwardType.code == Offer.award_type_code)
        .join(Call, Call.id == Application.call_id).where(past)).all()
    for ht, lv, status, stage in offers:
        if status == "running" and stage == _OFFER_STEP:
            continue  # still waiting for the enterprise
        offered[(ht, lv)] += 1
        if status not in _OFFER_NOT_TAKEN:
            confirmed[(ht, lv)] += 1
    take_up: dict[Kind, Rate] = {}
    for kind in set(decided) | set(offered):
        confirm, pay = _share(confirmed[kind], offered[kind]), _share(paid[kind], decided[kind])
        value = (confirm * pay).quantize(_PLACES, rounding=ROUND_HALF_UP)
        detail = (f"免申即享确认 {confirmed[kind]}/{offered[kind]}；申报获拨付 {paid[kind]}/{decided[kind]}")
        take_up[kind] = Rate(value, offered[kind] + decided[kind], detail)
    ratio = {kind: Rate((sum(vals, Decimal(0)) / len(vals)).quantize(_PLACES, rounding=ROUND_HALF_UP), len(vals),
                        f"已拨付 {len(vals)} 件的核定额与上限之比的平均")
             for kind, vals in ratios.items()}
    return Observed(take_up, ratio)
