"""Typed SQLAlchemy 2 models: the records of DESIGN.md.

Money columns are integer fen (BigInteger). Timestamps are UTC-aware. Dates are local
(Asia/Shanghai) calendar dates.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.db.base import Base, PackedBytes, UTCDateTime

Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite only autoincrements INTEGER keys


class PolicyEdition(Base):
    __tablename__ = "policy_edition"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    doc_no: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(Text)
    in_force_from: Mapped[date] = mapped_column(Date)
    in_force_until: Mapped[date] = mapped_column(Date)
    coverage_from: Mapped[date] = mapped_column(Date)


class AwardType(Base):
    __tablename__ = "award_type"
    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    edition_code: Mapped[str] = mapped_column(ForeignKey("policy_edition.code"))
    measure: Mapped[int] = mapped_column(Integer)
    honour_type: Mapped[str] = mapped_column(String(40))
    level: Mapped[str] = mapped_column(String(20))
    name_zh: Mapped[str] = mapped_column(Text)
    cap_fen: Mapped[int] = mapped_column(BigInteger, CheckConstraint("cap_fen > 0", name="cap_positive"))
    route: Mapped[str] = mapped_column(String(80))
    clause: Mapped[str] = mapped_column(Text)


class ReviewUnit(Base):
    __tablename__ = "review_unit"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(40))
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    successor: Mapped[str | None] = mapped_column(String(40))


class User(Base):
    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    review_unit_code: Mapped[str | None] = mapped_column(ForeignKey("review_unit.code"))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    unit_head: Mapped[bool] = mapped_column(Boolean, default=False)  # receives escalations of its unit


class ApiToken(Base):
    """A bearer token for API clients; only its SHA-256 is stored."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class Enterprise(Base):
    __tablename__ = "enterprise"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    review_unit_code: Mapped[str] = mapped_column(ForeignKey("review_unit.code"))
    email: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Honour(Base):
    __tablename__ = "honour"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    honour_type: Mapped[str] = mapped_column(String(40))
    level: Mapped[str] = mapped_column(String(20))
    recognised_on: Mapped[date] = mapped_column(Date)
    document_no: Mapped[str] = mapped_column(String(120))
    issuer: Mapped[str | None] = mapped_column(String(120))


class Fund(Base):
    __tablename__ = "fund"
    __table_args__ = (CheckConstraint("paid_fen <= budget_fen", name="within_budget"),
                      UniqueConstraint("year", "line"))
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(Text)
    year: Mapped[int] = mapped_column(Integer)
    line: Mapped[str] = mapped_column(String(40), default="city")  # "city" (专项资金) or a review unit (配套)
    budget_fen: Mapped[int] = mapped_column(BigInteger, CheckConstraint("budget_fen >= 0", name="budget_nonneg"))
    paid_fen: Mapped[int] = mapped_column(BigInteger, default=0)


class Call(Base):
    __tablename__ = "call"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    edition_code: Mapped[str] = mapped_column(ForeignKey("policy_edition.code"))
    fund_id: Mapped[int] = mapped_column(ForeignKey("fund.id"))
    title: Mapped[str] = mapped_column(Text)
    opens_on: Mapped[date] = mapped_column(Date)
    closes_on: Mapped[date] = mapped_column(Date)
    award_types: Mapped[list[str]] = mapped_column(JSON)
    closed_early: Mapped[bool] = mapped_column(Boolean, default=False)


class ProcessDefinition(Base):
    __tablename__ = "process_definition"
    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    process_id: Mapped[str] = mapped_column(String(80), index=True)
    source_name: Mapped[str] = mapped_column(String(200))
    bpmn_xml: Mapped[bytes] = mapped_column(LargeBinary)
    dmn_xml: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    current: Mapped[bool] = mapped_column(Boolean, default=True)


class ProcessInstance(Base):
    __tablename__ = "process_instance"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    definition_hash: Mapped[str] = mapped_column(ForeignKey("process_definition.hash"))
    state: Mapped[bytes] = mapped_column(PackedBytes, deferred=True)  # loaded only on a cache miss
    serializer_version: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(20), default="running")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    # Optimistic locking: every UPDATE says "WHERE version = <the version I read>".
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class Application(Base):
    __tablename__ = "application"
    __table_args__ = (UniqueConstraint("enterprise_id", "award_type_code"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("call.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    award_type_code: Mapped[str] = mapped_column(ForeignKey("award_type.code"))
    policy_revision_id: Mapped[int | None] = mapped_column(ForeignKey("policy_revision.id"))  # its edition text
    honour_id: Mapped[int] = mapped_column(ForeignKey("honour.id"))
    review_unit_code: Mapped[str] = mapped_column(ForeignKey("review_unit.code"), index=True)
    requested_fen: Mapped[int] = mapped_column(BigInteger)
    awarded_fen: Mapped[int | None] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(Text, default="")
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), unique=True)
    status: Mapped[str] = mapped_column(String(20), index=True)  # running | paid | rejected
    stage: Mapped[str] = mapped_column(String(60))  # task id of the open step, or the outcome
    stage_name: Mapped[str] = mapped_column(String(120), default="")  # its label in the diagram
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WorkItem(Base):
    """A human task as a row: what an officer's inbox lists."""

    __tablename__ = "work_item"
    __table_args__ = (
        # a unit's inbox, in its exact order (due_at, id): a page is read straight from the index
        Index("ix_work_item_inbox", "status", "role", "review_unit_code", "due_at", "id"),
        # the city-wide roles (no review unit) read their inbox in deadline order through this one
        Index("ix_work_item_role_due", "status", "role", "due_at", "id"),
        UniqueConstraint("instance_id", "task_id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    task_spec: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    review_unit_code: Mapped[str | None] = mapped_column(String(40))
    enterprise_id: Mapped[int | None] = mapped_column(Integer)
    assignee: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | completed | cancelled
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)  # 0 none, 1 notified, 2 escalated
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(80))
    outcome: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)
    # set when no ordinary officer of the unit may take the step (segregation of duties): sent to the
    # unit head, or nobody at all may take it (shown to the bureau and admins on the dashboard)
    blocked_reason: Mapped[str | None] = mapped_column(Text)


class Timer(Base):
    """A waiting BPMN timer; the deadline sweep asks this table what is due."""

    __tablename__ = "timer"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    event_spec: Mapped[str] = mapped_column(String(80))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Payout(Base):
    __tablename__ = "payout"
    __table_args__ = (UniqueConstraint("enterprise_id", "award_type_code"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("application.id"), unique=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    award_type_code: Mapped[str] = mapped_column(ForeignKey("award_type.code"))
    fund_id: Mapped[int] = mapped_column(ForeignKey("fund.id"))
    amount_fen: Mapped[int] = mapped_column(BigInteger, CheckConstraint("amount_fen > 0", name="positive"))
    reference: Mapped[str] = mapped_column(String(120))
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_by: Mapped[str] = mapped_column(String(80))


class AuditHead(Base):
    """One row: the chain's head. Locking it serialises appends, so the chain never forks."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class AuditEvent(Base):
    """Append-only, hash-chained record of every state change (the command that caused it)."""

    __tablename__ = "audit_event"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(40))
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True)
    application_id: Mapped[int | None] = mapped_column(Integer, index=True)
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
from services.db.models_accounts import *  # noqa: E402, F403  (registers the tables)
from services.db.models_arrears import *  # noqa: E402, F403
from services.db.models_audit import *  # noqa: E402, F403
from services.db.models_files import *  # noqa: E402, F403  (registers the tables)
from services.db.models_mail import OutboxMail  # noqa: E402,F401  (registers the table)
from services.db.models_pool import *  # noqa: E402, F403  (registers the tables)
from services.db.models_round import *  # noqa: E402, F403
from services.db.models_sandbox import PolicySimulation  # noqa: E402,F401  (registers the table)
from services.db.models_worker import WorkerStatus  # noqa: E402,F401  (registers the table)
