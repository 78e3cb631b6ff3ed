"""Loading an edition file into the database: checked, stored verbatim, never changed afterwards.

``validate`` lists every problem (the file's own, then against the stored editions); ``load`` stores
nothing unless there is none. A file whose SHA-256 is already stored is not stored again; a changed
file with the code of a stored edition is that edition's next revision (a correction), which new
cases use while cases already started keep the revision they ran under. Loads are serialised on the
audit chain's head row, so two concurrent loads cannot both pass the overlap check.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from config.policy import Edition
from config.policy_check import Issue, check_edition_bytes
from services.accounts.access import require_role
from services.audit import chain as audit
from services.db import models
from services.db.models import AuditHead, User
from services.db.models_round import PolicyRevision
from services.errors import Conflict, InvalidInput
from services.policy.cache import edition_of

STATES = {"draft": "草案", "in_force": "施行", "expired": "失效"}


class EditionRejected(InvalidInput):
    """An edition file with problems: every one of them, each naming its field and rule."""

    def __init__(self, name: str, issues: list[Issue]) -> None:
        super().__init__("file", "；".join(str(i) for i in issues))
        self.name = name
        self.issues = issues


@dataclass(frozen=True)
class Loaded:
    edition: Edition
    stored: bool  # False: this exact file was already stored (nothing changed)


def state(edition: Edition, today: date) -> str:
    """草案 before its first day in force, 施行 while in force, 失效 after its last day (by date)."""
    if today < edition.in_force_from:
        return "draft"
    return "in_force" if today <= edition.in_force_until else "expired"


def stored_editions(session: Session) -> list[Edition]:
    """The latest stored revision of every edition, read in the caller's transaction."""
    top = (select(PolicyRevision.edition_code, func.max(PolicyRevision.revision).label("rev"))
           .group_by(PolicyRevision.edition_code).subquery())
    rows = session.scalars(select(PolicyRevision).join(
        top, (PolicyRevision.edition_code == top.c.edition_code) & (PolicyRevision.revision == top.c.rev)))
    return [edition_of(row) for row in rows]


def _against_stored(session: Session, edition: Edition, stored: list[Edition]) -> list[Issue]:
    issues = []
    measures = {a.measure for a in edition.award_types}
    for other in stored:
        if other.code == edition.code:
            continue
        shared = measures & {a.measure for a in other.award_types}
        if shared and edition.in_force_from <= other.in_force_until and other.in_force_from <= edition.in_force_until:
            issues.append(Issue("in_force_from", (
                f"{edition.in_force_from} 至 {edition.in_force_until} 与政策版本 {other.code}"
                f"（{other.in_force_from} 至 {other.in_force_until}）重叠，两者涵盖相同的措施 "
                f"{'、'.join(map(str, sorted(shared)))}；同一措施同一天只能有一个政策版本")))
    codes = {a.code: i for i, a in enumerate(edition.award_types)}
    for code, owner in session.execute(select(models.AwardType.code, models.AwardType.edition_code)
                                       .where(models.AwardType.code.in_(codes))):
        if owner != edition.code:
            issues.append(Issue(f"award_types[{codes[code]}].code",
                                f"{code!r} 已是政策版本 {owner} 的奖励代码；奖励代码在各版本间须唯一"))
    return issues


def validate(session: Session, raw: bytes, name: str) -> tuple[list[Issue], Edition | None]:
    """Every problem of an edition file, the file's own and against the stored editions."""
    issues, edition = check_edition_bytes(raw, name)
    if edition is None:
        return issues, None
    issues = _against_stored(session, edition, stored_editions(session))
    return issues, (None if issues else edition)


def load(session: Session, raw: bytes, name: str, *, actor: str, now: datetime) -> Loaded:
    """Store an edition file as a new revision, in the caller's transaction; EditionRejected if it
    has any problem (nothing stored). The same bytes again change nothing."""
    session.execute(select(AuditHead).where(AuditHead.id == audit.HEAD_ID).with_for_update())  # serialise loads
    sha = hashlib.sha256(raw).hexdigest()
    same = session.scalar(select(PolicyRevision).where(PolicyRevision.sha256 == sha))
    if same is not None:
        return Loaded(edition_of(same), stored=False)
    issues, edition = validate(session, raw, name)
    if edition is None:
        raise EditionRejected(name, issues)
    previous = session.scalar(select(func.max(PolicyRevision.revision))
                              .where(PolicyRevision.edition_code == edition.code)) or 0
    row = PolicyRevision(edition_code=edition.code, revision=previous + 1, sha256=sha, filename=name[:200],
                         source=raw.decode("utf-8"), loaded_at=now, loaded_by=actor)
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"政策版本 {edition.code} 正被他人同时载入，请重试") from exc
    stored = edition_of(row)
    mirror(session, stored)
    audit.append(session, kind="policy.load", actor=actor, at=now,
                 payload={"edition": stored.code, "revision": stored.revision, "sha256": sha, "file": row.filename,
                          "in_force_from": stored.in_force_from.isoformat(),
                          "in_force_until": stored.in_force_until.isoformat()})
    return Loaded(stored, stored=True)


def mirror(session: Session, ed: Edition) -> None:
    """Point the catalogue rows (edition, award types) that foreign keys use at this revision."""
    session.merge(models.PolicyEdition(code=ed.code, doc_no=ed.doc_no, title=ed.title,
                                       in_force_from=ed.in_force_from, in_force_until=ed.in_force_until,
                                       coverage_from=ed.coverage_from))
    for aw in ed.award_types:
        session.merge(models.AwardType(code=aw.code, edition_code=ed.code, measure=aw.measure,
                                       honour_type=aw.honour_type, level=aw.level, name_zh=aw.name_zh,
                                       cap_fen=aw.cap_fen, route=aw.route, clause=aw.clause))
    session.flush()


@dataclass(frozen=True)
class RevisionRow:
    edition: Edition
    loaded_at: datetime
    loaded_by: str
    filename: str
    latest: bool


def revisions(session: Session) -> list[RevisionRow]:
    """Every stored revision, newest edition first, each with whether it is its edition's latest."""
    rows = list(session.scalars(select(PolicyRevision).order_by(PolicyRevision.edition_code,
                                                                PolicyRevision.revision)))
    top = {r.edition_code: r.revision for r in rows}
    out = [RevisionRow(edition_of(r), r.loaded_at, r.loaded_by, r.filename, top[r.edition_code] == r.revision)
           for r in rows]
    return sorted(out, key=lambda r: (r.edition.in_force_from, r.edition.code, r.edition.revision), reverse=True)


def load_as(session: Session, *, user: User, raw: bytes, name: str, now: datetime) -> Loaded:
    """``load`` for an admin (Forbidden for anyone else)."""
    require_role(user, "admin")
    return load(session, raw, name, actor=user.username, now=now)
