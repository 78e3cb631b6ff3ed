"""Daily signed statements of the audit chain head: tamper evidence beyond the chain itself.

The chain detects an altered, removed or reordered event, but not a rewrite of the whole chain
from some event on (every hash recomputed). So once a day the head (its seq, which is the number of
events, and its hash) is written down as a statement signed with HMAC-SHA256 under the audit
signing key (settings `audit_signing_key`), which the database does not hold. `verify` checks every
statement's signature and that the chain still holds the stated hash at the stated seq: a chain
rewritten after a statement no longer does. The statement's text is printed by `smeflow audit
anchor` and logged by the daily flow, so copies can live outside the database too.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.audit import chain as audit
from services.audit import signing
from services.db.models import AuditAnchor, AuditEvent, AuditHead

STATEMENT_FORMAT = "smeflow.chain-statement/1"


@dataclass(frozen=True)
class Statement:
    """A signed statement as stored (and as carried in evidence bundles)."""

    day: date
    seq: int
    head_hash: str
    recorded_at: datetime
    key_id: str
    statement: str
    signature: str

    def as_dict(self) -> dict[str, object]:
        return {"day": self.day.isoformat(), "seq": self.seq, "head_hash": self.head_hash,
                "recorded_at": self.recorded_at.isoformat(), "key_id": self.key_id, "statement": self.statement,
                "signature": self.signature}


@dataclass(frozen=True)
class AnchorProblem:
    day: date
    seq: int
    message: str


@dataclass(frozen=True)
class AnchorReport:
    ok: bool
    checked: int
    problems: tuple[AnchorProblem, ...]
    latest: Statement | None
    warnings: tuple[str, ...] = ()  # not failures: no statement was ever recorded, though events are old


def _hashes(session: Session, seqs: Iterable[int]) -> dict[int, str]:
    """seq -> hash of those events of the chain that exist."""
    rows = session.execute(select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.seq.in_(list(seqs))))
    return {seq: digest for seq, digest in rows}


def statement_text(*, seq: int, head_hash: str, at: datetime, day: date) -> str:
    """The exact text that is signed: canonical JSON of the head hash, the count and the time."""
    return audit.canonical({"format": STATEMENT_FORMAT, "seq": seq, "head": head_hash, "at": at.isoformat(),
                            "day": day.isoformat()}).decode()


def _statement(row: AuditAnchor) -> Statement:
    return Statement(row.day, row.seq, row.head_hash, row.recorded_at, row.key_id, row.statement, row.signature)


def record(session: Session, *, key: str, now: datetime, timezone: str) -> tuple[Statement, bool]:
    """Record today's signed statement of the chain head in the caller's transaction.

    Idempotent per local day: when today's statement exists it is returned with `False`.
    """
    day = now.astimezone(ZoneInfo(timezone)).date()
    audit.ensure_head(session)
    head = session.execute(select(AuditHead).where(AuditHead.id == audit.HEAD_ID).with_for_update()).scalar_one()
    existing = session.scalars(select(AuditAnchor).where(AuditAnchor.day == day)).first()
    if existing is not None:
        return _statement(existing), False
    text = statement_text(seq=head.seq, head_hash=head.hash, at=now, day=day)
    row = AuditAnchor(day=day, seq=head.seq, head_hash=head.hash, recorded_at=now, key_id=signing.key_id(key),
                      statement=text, signature=signing.sign(key, text.encode()))
    session.add(row)
    session.flush()
    return _statement(row), True


def statements(session: Session) -> list[Statement]:
    """Every statement, oldest first."""
    return [_statement(r) for r in session.scalars(select(AuditAnchor).order_by(AuditAnchor.day, AuditAnchor.id))]


def covering(session: Session, seq: int) -> Statement | None:
    """The earliest statement whose head is at or after event `seq` (it vouches for that event)."""
    row = session.scalars(select(AuditAnchor).where(AuditAnchor.seq >= seq)
                          .order_by(AuditAnchor.seq, AuditAnchor.day).limit(1)).first()
    return _statement(row) if row is not None else None


def check_statement(st: Statement, *, key: str | None) -> str | None:
    """What is wrong with a statement on its own (signature, text against columns); None when fine."""
    if key is not None and not signing.verify(key, st.statement.encode(), st.signature):
        mine = signing.key_id(key)
        other = "" if st.key_id == mine else f"；声明所用密钥编号为 {st.key_id}，本系统配置的密钥编号为 {mine}"
        return f"签名无效（声明被改动，或用其他密钥签名{other}）"
    try:
        body = orjson.loads(st.statement)
    except orjson.JSONDecodeError:
        return "声明正文不是签名时的 JSON 声明（已被改动）"
    if not isinstance(body, dict) or (body.get("seq"), body.get("head"), body.get("day")) != (
            st.seq, st.head_hash, st.day.isoformat()):
        return "存储的事件号、哈希或日期与签名正文不符（已被改动）"
    return None


def _against_chain(st: Statement, held: dict[int, str], previous: Statement | None) -> str | None:
    chain_hash = audit.GENESIS if st.seq == 0 else held.get(st.seq)
    if chain_hash is None:
        return (f"审计链中已没有第 {st.seq} 号事件：声明（记录于 {st.recorded_at:%Y-%m-%d %H:%M} UTC）"
                "之后有事件被删除")
    if chain_hash != st.head_hash:
        return (f"审计链第 {st.seq} 号事件的哈希现为 {chain_hash[:16]}…，声明记载为 "
                f"{st.head_hash[:16]}…：声明之后审计链被改写")
    if previous is not None and st.seq < previous.seq:
        return f"声明的事件数（{st.seq}）少于 {previous.day} 的声明（{previous.seq}）"
    return None


def _missing(session: Session, latest: Statement | None, *, now: datetime, timezone: str) -> str | None:
    """Events recorded before yesterday (local) that no statement covers: a day's statement is missing."""
    after = latest.seq if latest is not None else 0
    first = session.execute(select(AuditEvent.seq, AuditEvent.at).where(AuditEvent.seq > after)
                            .order_by(AuditEvent.seq).limit(1)).first()
    if first is None:
        return None
    zone = ZoneInfo(timezone)
    day, today = first.at.astimezone(zone).date(), now.astimezone(zone).date()
    if (today - day).days < 2:
        return None
    since = f"最近一份是 {latest.day} 的声明（第 {latest.seq} 号事件）" if latest is not None else "此前从未记录过声明"
    return (f"自 {day} 起的事件（第 {first.seq} 号及以后）没有任何签名声明覆盖；{since}。"
            "其后的声明缺失（被删除，或每日定时任务未运行；运行 smeflow audit anchor 可立即记录一份）")


def verify(session: Session, *, key: str, now: datetime | None = None, timezone: str = "Asia/Shanghai"
           ) -> AnchorReport:
    """Check every statement: its signature, and that the chain still holds its hash at its seq.

    With `now`, also that statements were recorded daily: events from before yesterday (local day in
    `timezone`) that no statement covers are a problem (a statement deleted to hide a rewrite, or the
    daily flow stopped); only a warning when no statement was ever recorded (a new installation)."""
    found = statements(session)
    seqs = {s.seq for s in found if s.seq > 0}
    held = _hashes(session, seqs)
    problems: list[AnchorProblem] = []
    previous: Statement | None = None
    for st in found:
        wrong = check_statement(st, key=key) or _against_chain(st, held, previous)
        if wrong is not None:
            problems.append(AnchorProblem(st.day, st.seq, f"{st.day} 的声明（第 {st.seq} 号事件）：{wrong}"))
        previous = st
    latest = found[-1] if found else None
    warnings: list[str] = []
    missing = _missing(session, latest, now=now, timezone=timezone) if now is not None else None
    if missing is not None and latest is not None:
        problems.append(AnchorProblem(latest.day, latest.seq, missing))
    elif missing is not None:
        warnings.append(missing)
    return AnchorReport(not problems, len(found), tuple(problems), latest, tuple(warnings))
