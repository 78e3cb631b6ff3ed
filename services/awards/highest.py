"""就高不重复 (one award per measure, the highest), as a setting: what an enterprise may still get
for an award of a measure, given what it already has in that measure.

With `honours_highest_only`: an award no higher than one the enterprise already has (running or
paid) in the same measure is refused; a higher one while a lower one is still running is refused
too (it would become two awards); a higher one after a lower one was paid follows the setting
`higher_award_after_lower_paid`: "difference" pays at most the higher cap less what was paid,
"none" pays nothing more. Never two full awards. Without the setting every award stands alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from config.policy import AwardType, Edition
from services.db.models import Application, Payout
from services.db.session import core_execute

ENDED = ("rejected", "lapsed", "declined")  # applications that exclude nothing


@dataclass(frozen=True)
class Held:
    application_id: int
    award_type_code: str
    status: str
    paid_fen: int


_A, _P = Application.__table__, Payout.__table__
# Core, with no expanding IN (its SQL would be rendered again at every run): an enterprise has few
# applications, so the award codes and the ended states are filtered here
_HELD = (select(_A.c.id, _A.c.award_type_code, _A.c.status, _P.c.amount_fen)
         .outerjoin(_P, _P.c.application_id == _A.c.id).where(_A.c.enterprise_id == bindparam("p_enterprise")))


def held_in_measure(session: Session, enterprise_id: int, codes: set[str]) -> list[Held]:
    """The enterprise's standing applications (and what was paid) for the award codes `codes`."""
    rows: list[Any] = list(core_execute(session, _HELD, {"p_enterprise": enterprise_id}))
    return [Held(a, c, s, int(p or 0)) for a, c, s, p in rows if c in codes and s not in ENDED]


def remaining_cap(edition: Edition, award: AwardType, held: list[Held], *, highest_only: bool,
                  after_paid: str) -> tuple[int, str | None]:
    """The most `award` may still pay, and why it is refused or reduced (None: the full cap)."""
    same = [h for h in held if h.award_type_code == award.code]
    if same:
        return 0, f"已申报（申报号 {same[0].application_id}），同一奖励只能申报一次"
    if not highest_only:
        return award.cap_fen, None
    caps = {a.code: a.cap_fen for a in edition.award_types}
    others = [h for h in held if h.award_type_code != award.code]
    if not others:
        return award.cap_fen, None
    top = max(others, key=lambda h: caps.get(h.award_type_code, 0))
    if caps.get(top.award_type_code, 0) >= award.cap_fen:
        return 0, f"按“就高不重复”设置，同一措施已有同级或更高的奖励（申报号 {top.application_id}）"
    if any(h.status != "paid" for h in others):
        running = next(h for h in others if h.status != "paid")
        return 0, f"按“就高不重复”设置，同一措施已有办理中的奖励（申报号 {running.application_id}），办结后再申请"
    paid = sum(h.paid_fen for h in others)
    if after_paid == "none":
        return 0, f"按“就高不重复”设置，同一措施已拨付较低的奖励（申报号 {top.application_id}），不再奖励差额"
    left = award.cap_fen - paid
    if left <= 0:
        return 0, "按“就高不重复”设置，同一措施已拨付的奖励不低于本奖励上限"
    return left, f"按“就高不重复”设置，已拨付同一措施较低的奖励 {paid / 100:,.2f} 元，本奖励最多补足差额"
