"""Concurrency that only a real PostgreSQL can show: separate service instances (as separate
workers would be) racing on one work item, and on one fund."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date

from sqlalchemy import func, select

from services.awards import enterprises, tasks
from services.awards.demo import Demo, demo_uscc
from services.awards.tasks import Decision
from services.bootstrap import Services, build
from services.db.models import AuditEvent, Fund, Payout, WorkItem
from services.errors import Conflict, InsufficientFunds
from tests.conftest import requires_postgres
from tests.helpers import act, apply_for, open_item, pass_public_notice, today

pytestmark = requires_postgres()


def _race(services: Services, jobs: list[Callable[[Services], None]]) -> list[BaseException | None]:
    """Run each job in its own thread with its own wired service, released at the same instant."""
    barrier = threading.Barrier(len(jobs))
    results: list[BaseException | None] = [None] * len(jobs)

    def run(i: int) -> None:
        own = build(services.settings, clock=services.clock)
        try:
            barrier.wait()
            jobs[i](own)
        except BaseException as exc:
            results[i] = exc
        finally:
            own.db.dispose()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _complete(item_id: int, username: str, decision: Decision) -> Callable[[Services], None]:
    def job(s: Services) -> None:
        with s.uow() as uow:
            tasks.complete(uow, s, item_id=item_id, username=username, decision=decision, now=s.clock.now())
            uow.commit()
    return job


def test_two_officers_complete_one_item_exactly_one_wins(services: Services) -> None:
    Demo(services, echo=False).load()
    app_id = apply_for(services, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)
    item = open_item(services, app_id)
    results = _race(services, [_complete(item.id, "district-donghu", Decision("approve")),
                               _complete(item.id, "district-donghu", Decision("reject", "no"))])
    assert sum(r is None for r in results) == 1
    [err] = [r for r in results if r is not None]
    assert isinstance(err, Conflict) and "已由" in str(err)
    with services.uow() as uow:
        done = uow.session.get_one(WorkItem, item.id)
        winner = "approve" if results[0] is None else "reject"
        assert (done.status, done.outcome) == ("completed", winner)
        events = uow.session.scalar(select(func.count()).select_from(AuditEvent)
                                    .where(AuditEvent.kind == "task.complete"))
        assert events == 1


def test_twenty_concurrent_payouts_against_a_fund_for_ten(services: Services) -> None:
    Demo(services, echo=False).load()
    amount = 50_000_00
    with services.uow() as uow:
        uow.session.scalars(select(Fund)).one().budget_fen = 10 * amount
        for i in range(20):
            ent = enterprises.register(uow.session, uscc=demo_uscc(500 + i), name=f"并发测试企业{i}",
                                       review_unit_code="donghu", email=None, actor="t",
                                       now=services.clock.now(), today=today(services))
            enterprises.add_honour(uow.session, enterprise_id=ent.id, honour_type="srdi_sme", level="city",
                                   recognised_on=date(2023, 1, 1), document_no=f"D{i}", issuer=None,
                                   editions=services.editions, actor="t", now=services.clock.now())
        uow.commit()
    apps = [apply_for(services, f"并发测试企业{i}", "m2-srdi-sme-city", amount) for i in range(20)]
    for app_id in apps:
        act(services, app_id, "district-donghu", "approve")
        act(services, app_id, "bureau", "approve", amount_fen=amount)
    pass_public_notice(services)
    items = [open_item(services, a).id for a in apps]
    results = _race(services, [_complete(i, "finance", Decision("pay", payment_reference=f"R{i}")) for i in items])
    assert sum(r is None for r in results) == 10
    assert all(isinstance(r, InsufficientFunds) for r in results if r is not None)
    with services.uow() as uow:
        fund = uow.session.scalars(select(Fund)).one()
        payouts = uow.session.scalars(select(Payout)).all()
        assert len(payouts) == 10
        assert sum(p.amount_fen for p in payouts) == fund.paid_fen == 10 * amount <= fund.budget_fen
        assert len({p.enterprise_id for p in payouts}) == 10
