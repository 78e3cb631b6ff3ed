"""Loads the policy data of config/ into the database (editions, award types, review units)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from config.policy import Edition, ReviewUnit
from services.db import models


def sync(session: Session, editions: list[Edition], units: list[ReviewUnit]) -> None:
    """Insert or update every edition, award type and review unit (idempotent)."""
    for unit in units:
        session.merge(models.ReviewUnit(code=unit.code, name_zh=unit.name_zh, kind=unit.kind,
                                        valid_from=unit.valid_from, valid_until=unit.valid_until,
                                        successor=unit.successor))
    for ed in editions:
        session.merge(models.PolicyEdition(code=ed.code, doc_no=ed.doc_no, title=ed.title,
                                           in_force_from=ed.in_force_from, in_force_until=ed.in_force_until,
                                           coverage_from=ed.coverage_from))
        for aw in ed.award_types:
            session.merge(models.AwardType(code=aw.code, edition_code=ed.code, measure=aw.measure,
                                           honour_type=aw.honour_type, level=aw.level, name_zh=aw.name_zh,
                                           cap_fen=aw.cap_fen, route=aw.route, clause=aw.clause))
    session.flush()
