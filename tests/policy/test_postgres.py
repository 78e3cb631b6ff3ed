"""Concurrent loads on PostgreSQL: two overlapping editions loaded at the same moment, one is stored."""

from __future__ import annotations

import threading

from sqlalchemy import select

from services.bootstrap import Services
from services.db.models import PolicyRevision
from services.errors import SmeflowError
from services.policy import store
from tests.conftest import requires_postgres
from tests.policy.editions import successor_text

pytestmark = requires_postgres()


def test_two_overlapping_editions_loaded_at_once(services: Services) -> None:
    texts = {"test-a": successor_text(code="test-a", award_prefix="test-a-"),
             "test-b": successor_text(code="test-b", award_prefix="test-b-")}
    barrier = threading.Barrier(2)
    outcome: dict[str, str] = {}

    def load(code: str) -> None:
        with services.uow() as uow:
            barrier.wait()
            try:
                store.load(uow.session, texts[code].encode(), f"{code}.toml", actor="admin", now=services.clock.now())
                uow.commit()
                outcome[code] = "stored"
            except SmeflowError as exc:
                outcome[code] = exc.message

    threads = [threading.Thread(target=load, args=(code,)) for code in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert list(outcome.values()).count("stored") == 1, outcome
    refused = next(v for v in outcome.values() if v != "stored")
    assert "重叠，两者涵盖相同的措施" in refused, outcome
    with services.uow() as uow:
        assert len(uow.session.scalars(select(PolicyRevision).where(
            PolicyRevision.edition_code.in_(["test-a", "test-b"]))).all()) == 1
