"""The pool page's read model: enterprises by tier with their honours, open offers and awards paid,
filtered and scoped (a district officer sees its own unit's enterprises only); and its export."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.awards.claims import local_today
from services.db.models import Application, Enterprise, Honour, Payout, ReviewUnit, User
from services.db.models_pool import EnterpriseNameFlag, HonourSource, Offer, RecognitionBatch
from services.errors import Forbidden, InvalidInput
from services.pool import catalogue

if TYPE_CHECKING:
    from services.bootstrap import Services

CITY_ROLES = {"bureau", "manager", "admin", "auditor"}
OFFER_STEP = "confirm_offer"
EXPORT_COLUMNS = (
    "统一社会信用代码",
    "企业名称",
    "所属县区",
    "梯度",
    "荣誉",
    "待确认奖励",
    "已拨付奖励（元）",
    "名称待核",
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class HonourView:
    code: str
    name_zh: str
    level_zh: str
    recognised_on: date
    document_no: str
    valid_until: date | None
    batch_id: int | None
    current: bool


@dataclass
class PoolRow:
    enterprise_id: int
    uscc: str
    name: str
    unit_code: str
    unit_name: str
    tier: catalogue.Tier | None = None
    honours: list[HonourView] = field(default_factory=list)
    open_offers: int = 0
    paid_fen: int = 0
    listed_names: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PoolFilter:
    tier: str | None = None
    unit: str | None = None
    q: str | None = None


def scope_unit(user: User | None, requested: str | None) -> str | None:
    """The review unit the user may look at: a district officer only its own."""
    if user is None or user.role in CITY_ROLES:
        return requested or None
    if user.role == "district":
        return user.review_unit_code
    raise Forbidden("只有市中小企业局、区县和管理人员可以查看企业库")


def pool_rows(
    session: Session, services: Services, *, user: User | None, filters: PoolFilter, limit: int = 500
) -> tuple[list[PoolRow], int]:
    """Enterprises holding at least one honour, highest tier first; and how many match in all."""
    data = catalogue.load()
    if filters.tier and filters.tier not in {t.code for t in data.tiers} | {"none"}:
        raise InvalidInput("tier", "未知的梯度")
    unit = scope_unit(user, filters.unit)
    today = local_today(services)
    vocab = catalogue.vocabulary(services.editions, data)
    query = (
        select(Honour, HonourSource.valid_until, HonourSource.batch_id, Enterprise, ReviewUnit.name_zh)
        .join(Enterprise, Enterprise.id == Honour.enterprise_id)
        .join(ReviewUnit, ReviewUnit.code == Enterprise.review_unit_code)
        .outerjoin(HonourSource, HonourSource.honour_id == Honour.id)
    )
    if unit:
        query = query.where(Enterprise.review_unit_code == unit)
    if filters.q:
        needle = f"%{filters.q.strip()[:60]}%"
        query = query.where(Enterprise.name.like(needle) | Enterprise.uscc.like(needle))
    rows: dict[int, PoolRow] = {}
    for honour, until, batch, ent, unit_name in session.execute(query.order_by(Enterprise.id, Honour.recognised_on)):
        row = rows.get(ent.id)
        if row is None:
            row = rows[ent.id] = PoolRow(ent.id, ent.uscc, ent.name, ent.review_unit_code, unit_name)
        row.honours.append(
            HonourView(
                honour.honour_type,
                vocab.honour_names.get(honour.honour_type, honour.honour_type),
                vocab.level_names.get(honour.level, honour.level),
                honour.recognised_on,
                honour.document_no,
                until,
                batch,
                until is None or until >= today,
            )
        )
    for row in rows.values():
        row.tier = catalogue.tier_of({h.code for h in row.honours if h.current}, data)
    chosen = [r for r in rows.values() if _tier_matches(r, filters.tier)]
    chosen.sort(key=lambda r: (-(r.tier.rank if r.tier else 0), r.name))
    total = len(chosen)
    chosen = chosen[:limit]
    _add_offers_and_payouts(session, chosen)
    return chosen, total


def _tier_matches(row: PoolRow, tier: str | None) -> bool:
    if not tier:
        return True
    return (row.tier is None) if tier == "none" else (row.tier is not None and row.tier.code == tier)


def _add_offers_and_payouts(session: Session, rows: list[PoolRow]) -> None:
    ids = [r.enterprise_id for r in rows]
    if not ids:
        return
    by_id = {r.enterprise_id: r for r in rows}
    for eid, n in session.execute(
        select(Offer.enterprise_id, func.count())
        .join(Application, Application.id == Offer.application_id)
        .where(Offer.enterprise_id.in_(ids), Application.status == "running", Application.stage == OFFER_STEP)
        .group_by(Offer.enterprise_id)
    ):
        by_id[eid].open_offers = int(n)
    for eid, fen in session.execute(
        select(Payout.enterprise_id, func.sum(Payout.amount_fen))
        .where(Payout.enterprise_id.in_(ids))
        .group_by(Payout.enterprise_id)
    ):
        by_id[eid].paid_fen = int(fen or 0)
    for eid, name in session.execute(
        select(EnterpriseNameFlag.enterprise_id, EnterpriseNameFlag.listed_name)
        .where(EnterpriseNameFlag.enterprise_id.in_(ids))
        .order_by(EnterpriseNameFlag.id)
    ):
        by_id[eid].listed_names.append(name)


def tier_counts(rows: list[PoolRow]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        counts[r.tier.code if r.tier else "none"] += 1
    return dict(counts)


def batches(session: Session, *, limit: int = 50) -> list[RecognitionBatch]:
    return list(session.scalars(select(RecognitionBatch).order_by(RecognitionBatch.id.desc()).limit(limit)))


# -- export -----------------------------------------------------------------------------------
def _neutral(text: str) -> str:
    text = ILLEGAL_CHARACTERS_RE.sub("", text)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def export_table(rows: list[PoolRow]) -> list[list[Any]]:
    from decimal import Decimal

    out: list[list[Any]] = []
    for r in rows:
        honours = "；".join(f"{h.name_zh}（{h.level_zh}，{h.recognised_on}，{h.document_no}）" for h in r.honours)
        out.append(
            [
                _neutral(r.uscc),
                _neutral(r.name),
                _neutral(r.unit_name),
                r.tier.name_zh if r.tier else "",
                _neutral(honours),
                r.open_offers,
                Decimal(r.paid_fen).scaleb(-2),
                _neutral("、".join(r.listed_names)),
            ]
        )
    return out


def export_csv(rows: list[PoolRow]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    writer.writerow(EXPORT_COLUMNS)
    for cells in export_table(rows):
        writer.writerow([f"{c:.2f}" if hasattr(c, "scaleb") else c for c in cells])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def export_xlsx(rows: list[PoolRow]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("企业库")
    sheet.append(list(EXPORT_COLUMNS))
    for cells in export_table(rows):
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
