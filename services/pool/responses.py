"""What an enterprise does with an offer (confirm with its bank account and the commitments, or decline),
and the one-time claim code that binds a new applicant account to an enterprise that had none."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from services.accounts.access import require_role
from services.audit import chain as audit
from services.awards.claims import bound_enterprise
from services.db.models import Application, Enterprise, User, WorkItem
from services.db.models_pool import Offer
from services.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.pool.offers import CONFIRM
from services.uow import UnitOfWork

if TYPE_CHECKING:
    from services.bootstrap import Services

_ACCOUNT_NO = re.compile(r"[0-9]{8,32}")
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read over the phone


def _text(value: str | None, field: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(field, "不能为空")
    if len(text) > limit or any(ord(ch) < 32 for ch in text):
        raise InvalidInput(field, f"最多 {limit} 个字符，且不含控制字符")
    return text


def respond(uow: UnitOfWork, services: Services, *, user: User, offer_id: int, decision: str, now: datetime,
            bank_name: str | None = None, account_name: str | None = None, account_no: str | None = None,
            accept_commitments: bool = False) -> Application:
    """Confirm (bank account and every commitment) or decline an offer of the user's enterprise: one step
    of its case, one transaction (caller commits)."""
    enterprise_id = bound_enterprise(user)
    session = uow.session
    offer = session.get(Offer, offer_id)
    if offer is None or offer.enterprise_id != enterprise_id:
        raise NotFound(f"免申即享告知 #{offer_id} 不存在")
    item = session.scalars(select(WorkItem).where(WorkItem.application_id == offer.application_id,
                                                  WorkItem.task_spec == CONFIRM, WorkItem.status == "open")).first()
    if item is None:
        raise Conflict("该奖励已确认、已放弃或已失效，不能再答复")
    if decision == "confirm":
        no = (account_no or "").replace(" ", "")
        if not _ACCOUNT_NO.fullmatch(no):
            raise InvalidInput("account_no", "银行账号应为 8 至 32 位数字")
        account = {"bank_name": _text(bank_name, "bank_name", 100),
                   "account_name": _text(account_name, "account_name", 200), "account_no": no}
        if not accept_commitments:
            raise InvalidInput("commitments", "须确认全部承诺事项")
        data: dict[str, Any] = {"decision": "confirm", "reason": None, "bank_account": account,
                "commitments": list(services.settings.offer_commitments)}
    elif decision == "decline":
        data = {"decision": "decline", "reason": "企业放弃"}
    else:
        raise InvalidInput("decision", "只能选择 confirm（确认）或 decline（放弃）")
    application = session.get_one(Application, offer.application_id)
    services.runtime.complete(uow, item=item, application=application, data=data, actor=user.username, now=now,
                              outcome=decision, reason=None if decision == "confirm" else "企业放弃")
    return application


# -- claim codes ---------------------------------------------------------------------------------
def _sha(code: str) -> str:
    return hashlib.sha256(code.strip().upper().replace("-", "").encode()).hexdigest()


def issue_claim_code(uow: UnitOfWork, *, user: User, offer_id: int, now: datetime) -> str:
    """A one-time claim code for an offered enterprise that has no account (district officer of its unit,
    or the bureau). Shown once: only its SHA-256 is stored; issuing again replaces the old one."""
    session = uow.session
    offer = session.get(Offer, offer_id)
    if offer is None or (user.role == "district" and offer.review_unit_code != user.review_unit_code):
        raise NotFound(f"免申即享告知 #{offer_id} 不存在")
    if user.role not in {"district", "bureau"}:
        raise Forbidden("只有区县经办人或市中小企业局可以发放认领码")
    has_account = session.scalar(select(User.id).where(User.enterprise_id == offer.enterprise_id,
                                                       User.role == "applicant", User.active.is_(True)))
    if has_account is not None or offer.claimed_at is not None:
        raise Conflict("该企业已有账户，无需认领码")
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    offer.claim_code_sha256, offer.claim_code_issued_at = _sha(raw), now
    audit.append(session, kind="offer.claim_code", actor=user.username, at=now, application_id=offer.application_id,
                 payload={"offer": offer.id, "enterprise": offer.enterprise_id})
    return "-".join(raw[i:i + 4] for i in range(0, 12, 4))


def claim(uow: UnitOfWork, *, user: User, code: str, now: datetime) -> Enterprise:
    """Bind an applicant account without an enterprise to the enterprise the claim code was issued for;
    the code is spent."""
    require_role(user, "applicant")
    if user.enterprise_id is not None:
        raise Conflict("该账户已绑定企业")
    session = uow.session
    if not re.fullmatch(r"[A-Za-z0-9-]{12,20}", (code or "").strip()):
        raise InvalidInput("claim_code", "认领码格式不对（12 位字母和数字）")
    offer = session.scalars(select(Offer).where(Offer.claim_code_sha256 == _sha(code),
                                                Offer.claimed_at.is_(None))).first()
    if offer is None:
        raise InvalidInput("claim_code", "认领码无效或已使用")
    spent = session.execute(update(Offer).where(Offer.id == offer.id, Offer.claimed_at.is_(None)).values(
        claimed_at=now, claimed_by=user.username, claim_code_sha256=None).execution_options(synchronize_session=False))
    bound = session.execute(update(User).where(User.id == user.id, User.enterprise_id.is_(None)).values(
        enterprise_id=offer.enterprise_id).execution_options(synchronize_session=False))
    if spent.rowcount != 1 or bound.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict("认领码刚刚已被使用")
    user.enterprise_id = offer.enterprise_id
    audit.append(session, kind="offer.claim", actor=user.username, at=now, application_id=offer.application_id,
                 payload={"offer": offer.id, "enterprise": offer.enterprise_id, "user": user.username})
    return session.get_one(Enterprise, offer.enterprise_id)
