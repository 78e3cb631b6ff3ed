"""免申即享: awards offered without an application. When a call is open (on the day it opens, by the
offer sweep, and whenever a recognition batch is imported while it is open), every enterprise whose
imported honours qualify gets an offer: a case on the route `<award route>_offer`, which starts at
the enterprise's confirmation (bank account, the commitments) and then joins the usual route at the
district check. 就高不重复 picks the highest award of each measure (services.awards.highest).

An offer and its mail are written in the caller's transaction; offers of one call are idempotent
(unique per call, enterprise and measure; an enterprise that already has the award is skipped).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from config.policy import AwardType, Edition
from services.audit import chain as audit
from services.awards import highest
from services.awards.calls import is_open
from services.awards.claims import local_today, open_calls
from services.awards.routes import current_route
from services.db.models import Application, Call, Enterprise, Honour, User
from services.db.models_pool import HonourSource, Offer
from services.engine.runtime import Route
from services.errors import NotFound
from services.mail import outbox
from services.uow import UnitOfWork

if TYPE_CHECKING:
    from services.bootstrap import Services
    from services.pool.batches import ImportReport

ROUTE_SUFFIX = "_offer"
CONFIRM = "confirm_offer"
DESCRIPTION = "免申即享：依据导入的认定名单主动发出，无需申报"


@dataclass(frozen=True)
class Candidate:
    enterprise_id: int
    review_unit_code: str
    honour_id: int
    award: AwardType
    cap_fen: int


def _edition(services: Services, code: str) -> Edition | None:
    return next((e for e in services.editions if e.code == code), None)


def _routes(session: Session, services: Services, awards: list[AwardType]) -> dict[str, Route]:
    routes: dict[str, Route] = {}
    for award in awards:
        if award.route in routes:
            continue
        try:
            routes[award.route] = current_route(session, services.engine, award.route + ROUTE_SUFFIX)
        except NotFound:
            continue  # this award's route has no offer path (platforms and bases apply as usual)
    return routes


def candidates(session: Session, services: Services, call: Call, edition: Edition,
               enterprise_ids: set[int] | None = None) -> list[Candidate]:
    """Who qualifies in `call` by an imported honour, with the highest award of each measure, less what
    they already have (就高不重复); enterprises already offered something of that measure in this call left out."""
    awards = [edition.award(code) for code in call.award_types if code in {a.code for a in edition.award_types}]
    routes = _routes(session, services, awards)
    awards = [a for a in awards if a.route in routes]
    if not awards:
        return []
    by_kind = {(a.honour_type, a.level): a for a in awards}
    query = (select(Honour.id, Honour.enterprise_id, Honour.honour_type, Honour.level, Honour.recognised_on,
                    Enterprise.review_unit_code)
             .join(HonourSource, HonourSource.honour_id == Honour.id)
             .join(Enterprise, Enterprise.id == Honour.enterprise_id)
             .where(Honour.honour_type.in_({a.honour_type for a in awards})))
    if enterprise_ids is not None:
        if not enterprise_ids:
            return []
        query = query.where(Honour.enterprise_id.in_(sorted(enterprise_ids)))
    best: dict[tuple[int, int], tuple[AwardType, int, str]] = {}
    for hid, eid, kind, level, on, unit in session.execute(query.order_by(Honour.id)):
        award = by_kind.get((kind, level))
        if award is None or not edition.covers(on):
            continue
        key = (eid, award.measure)
        if key not in best or award.cap_fen > best[key][0].cap_fen:
            best[key] = (award, hid, unit)
    offered = set(session.execute(select(Offer.enterprise_id, Offer.measure).where(Offer.call_id == call.id)))
    out = []
    for (eid, measure), (award, hid, unit) in best.items():
        if (eid, measure) in offered:
            continue
        codes = {a.code for a in edition.award_types if a.measure == measure}
        cap, _why = highest.remaining_cap(edition, award, highest.held_in_measure(session, eid, codes),
                                          highest_only=services.settings.honours_highest_only,
                                          after_paid=services.settings.higher_award_after_lower_paid)
        if cap > 0:
            out.append(Candidate(eid, unit, hid, award, cap))
    return out


OFFERS_PER_FLUSH = 100


def make_offers(uow: UnitOfWork, services: Services, *, call_id: int, actor: str, now: datetime,
                enterprise_ids: set[int] | None = None) -> int:
    """Offer every qualifying enterprise the call's highest award of each measure (caller commits).
    Nothing when the call is not open today. Returns how many offers were made."""
    session = uow.session
    call = session.get(Call, call_id)
    if call is None:
        raise NotFound(f"申报批次 #{call_id} 不存在")
    edition = _edition(services, call.edition_code)
    if edition is None or not is_open(call, local_today(services)):
        return 0
    found = candidates(session, services, call, edition, enterprise_ids)
    routes = _routes(session, services, [c.award for c in found])
    known = known_recipients(session, {c.enterprise_id for c in found})
    for n, c in enumerate(found, start=1):
        start_offer(uow, services, call=call, candidate=c, route=routes[c.award.route], actor=actor, now=now,
                    known=known)
        if n % OFFERS_PER_FLUSH == 0:
            # still one transaction: write what is pending and let go of it, so that each flush does not
            # walk every object made so far (10,000 offers in one session ran at a sixth of one by one)
            session.flush()
            session.expunge_all()
    return len(found)


def start_offer(uow: UnitOfWork, services: Services, *, call: Call, candidate: Candidate, route: Route, actor: str,
                now: datetime, known: dict[int, Recipients] | None = None) -> Offer:
    """One offer: the application row, its case (waiting on the enterprise's confirmation), the offer row,
    its audit event and the mail to the enterprise, in the caller's transaction."""
    session = uow.session
    c = candidate
    application = Application(call_id=call.id, enterprise_id=c.enterprise_id, award_type_code=c.award.code,
                              honour_id=c.honour_id, review_unit_code=c.review_unit_code, requested_fen=c.cap_fen,
                              description=DESCRIPTION, status="running", stage="start", stage_name="发出奖励",
                              created_at=now, updated_at=now)
    session.add(application)
    session.flush()
    data = {"application_id": application.id, "award_type": c.award.code, "cap_fen": c.cap_fen,
            "requested_fen": c.cap_fen, "review_unit": c.review_unit_code, "offer": True, "decision": None,
            "reason": None, "award_amount_fen": None, "payment_reference": None}
    services.runtime.start(uow, route=route, application=application, data=data, actor=actor, now=now)
    offer = Offer(call_id=call.id, enterprise_id=c.enterprise_id, measure=c.award.measure,
                  award_type_code=c.award.code, honour_id=c.honour_id, application_id=application.id,
                  review_unit_code=c.review_unit_code, cap_fen=c.cap_fen, created_at=now)
    session.add(offer)
    session.flush()
    audit.append(session, kind="offer.make", actor=actor, at=now, instance_id=application.instance_id,
                 application_id=application.id,
                 payload={"offer": offer.id, "call": call.id, "enterprise": c.enterprise_id, "award": c.award.code,
                          "honour": c.honour_id, "cap_fen": c.cap_fen})
    _mail_offer(session, services, offer, call, c.award, now, known.get(c.enterprise_id) if known else None)
    return offer


@dataclass(frozen=True)
class Recipients:
    name: str
    emails: list[str]  # the enterprise's own address and its applicant accounts'
    has_account: bool


def known_recipients(session: Session, enterprise_ids: set[int]) -> dict[int, Recipients]:
    """The recipients of many enterprises in two statements per 1,000 (offers made in bulk)."""
    ids = sorted(enterprise_ids)
    out: dict[int, Recipients] = {}
    for i in range(0, len(ids), 1000):
        chunk = ids[i:i + 1000]
        accounts: dict[int, list[str | None]] = {}
        for eid, email in session.execute(select(User.enterprise_id, User.email).where(
                User.enterprise_id.in_(chunk), User.active.is_(True), User.role == "applicant")):
            if eid is not None:
                accounts.setdefault(eid, []).append(email)
        for eid, name, email in session.execute(select(Enterprise.id, Enterprise.name, Enterprise.email)
                                                .where(Enterprise.id.in_(chunk))):
            mine = accounts.get(eid, [])
            out[eid] = Recipients(name, sorted({e for e in [email, *mine] if e}), bool(mine))
    return out


def recipients(session: Session, enterprise_id: int) -> tuple[list[str], bool]:
    """The enterprise's mail addresses (its own and its applicant accounts'), and whether it has an account."""
    one = known_recipients(session, {enterprise_id})[enterprise_id]
    return one.emails, one.has_account


def confirm_by(session: Session, application_id: int) -> datetime | None:
    from services.db.models import WorkItem

    return session.scalar(select(WorkItem.due_at).where(WorkItem.application_id == application_id,
                                                        WorkItem.task_spec == CONFIRM, WorkItem.status == "open"))


def _mail_offer(session: Session, services: Services, offer: Offer, call: Call, award: AwardType,
                now: datetime, known: Recipients | None = None) -> None:
    to = known or known_recipients(session, {offer.enterprise_id})[offer.enterprise_id]
    if not to.emails:
        return  # no address: the district's offer list (with a claim code) reaches the enterprise
    outbox.enqueue(session, to=to.emails, template="offer_made", now=now, dedupe_key=f"offer_made:{offer.id}",
                   application_id=offer.application_id,
                   context={"enterprise_name": to.name, "award_name": award.name_zh, "cap_fen": offer.cap_fen,
                            "call_title": call.title, "confirm_by": confirm_by(session, offer.application_id),
                            "commitments": list(services.settings.offer_commitments), "has_account": to.has_account})


def after_import(uow: UnitOfWork, services: Services, report: ImportReport, now: datetime, actor: str) -> None:
    """After a batch is written: offers in every open call for the enterprises the batch touched."""
    if not report.honour_ids:
        return
    session = uow.session
    ids: set[int] = set()
    for i in range(0, len(report.honour_ids), 1000):
        ids.update(session.scalars(select(Honour.enterprise_id).where(Honour.id.in_(report.honour_ids[i:i + 1000]))))
    for call in open_calls(session, local_today(services)):
        report.offers_made += make_offers(uow, services, call_id=call.id, actor=actor, now=now, enterprise_ids=ids)


def sweep(services: Services, now: datetime, *, actor: str = "system") -> int:
    """Offers for every call open today (a call that opened since the last run); idempotent."""
    made = 0
    with services.uow() as uow:
        calls = [c.id for c in open_calls(uow.session, local_today(services))]
    for call_id in calls:
        with services.uow() as uow:
            n = make_offers(uow, services, call_id=call_id, actor=actor, now=now)
            uow.commit()
        made += n
    return made


@dataclass(frozen=True)
class OfferSweep:
    offers_made: int
    offers_reminded: int


def sweep_and_remind(services: Services, now: datetime) -> OfferSweep:
    """What the worker's deadline sweep adds for offers: offers in calls that opened since the last run,
    and the reminders that are due."""
    from services.pool.offer_views import remind

    return OfferSweep(sweep(services, now), remind(services, now))
