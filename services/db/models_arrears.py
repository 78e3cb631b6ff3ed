"""Arrears campaign records (measure 10): debtors, handling-department officers, cases (the ledger,
台账), their open steps and timers, repayment plans, repayments and ledger imports.

Money is integer fen. An agreed late-interest rate is stored exactly as parts per million of an
annual rate (4.35 % a year = 43 500 ppm). Dates are local (Asia/Shanghai) calendar dates.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from services.db.base import Base, UTCDateTime

# Same as services.db.models.Id (not imported from there: models.py imports this module at its end).
Id = BigInteger().with_variant(Integer(), "sqlite")

__all__ = [
    "DEBTOR_KINDS",
    "ArrearsCase",
    "ArrearsConfirmation",
    "ArrearsDebtor",
    "ArrearsImport",
    "ArrearsInstalment",
    "ArrearsOfficer",
    "ArrearsOversight",
    "ArrearsRepayment",
    "ArrearsTask",
    "ArrearsTimer",
]

DEBTOR_KINDS = ("government", "institution", "large_enterprise", "organisation")


class ArrearsDebtor(Base):
    """A debtor (a government body, public institution or large enterprise) and its handling department."""

    __tablename__ = "arrears_debtor"
    __table_args__ = (
        CheckConstraint("kind IN ('government', 'institution', 'large_enterprise', 'organisation')", name="kind"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    department_code: Mapped[str] = mapped_column(String(40), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ArrearsOfficer(Base):
    """A user who acts for a handling department; a head approves extensions and receives escalations."""

    __tablename__ = "arrears_officer"
    __table_args__ = (UniqueConstraint("user_id", "department_code"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    department_code: Mapped[str] = mapped_column(String(40), index=True)
    head: Mapped[bool] = mapped_column(Boolean, default=False)


class ArrearsImport(Base):
    """One ledger file imported (or partly imported)."""

    __tablename__ = "arrears_import"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    imported_by: Mapped[str] = mapped_column(String(80))
    rows_total: Mapped[int] = mapped_column(Integer)
    rows_created: Mapped[int] = mapped_column(Integer)
    rows_existing: Mapped[int] = mapped_column(Integer)
    rows_rejected: Mapped[int] = mapped_column(Integer)
    partial: Mapped[bool] = mapped_column(Boolean, default=False)


class ArrearsCase(Base):
    """An arrears case: one debt of one debtor to one SME under one contract (the natural key)."""

    __tablename__ = "arrears_case"
    __table_args__ = (
        UniqueConstraint("creditor_uscc", "debtor_id", "contract_no"),
        CheckConstraint("claimed_fen > 0", name="claimed_positive"),
        CheckConstraint("repaid_fen >= 0", name="repaid_nonneg"),
        Index("ix_arrears_case_ledger", "status", "department_code"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    # complaint (accepted by the city bureau under the local arrangement) | province (transferred by the
    # provincial acceptance department, see ArrearsTransfer) | ledger (a campaign ledger row)
    source: Mapped[str] = mapped_column(String(10))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("arrears_import.id"))
    creditor_uscc: Mapped[str] = mapped_column(String(18))  # indexed by the unique key it leads
    creditor_name: Mapped[str] = mapped_column(String(200))
    debtor_id: Mapped[int] = mapped_column(ForeignKey("arrears_debtor.id"), index=True)
    department_code: Mapped[str] = mapped_column(String(40))
    contract_no: Mapped[str] = mapped_column(String(80))
    signed_on: Mapped[date] = mapped_column(Date)
    delivered_on: Mapped[date] = mapped_column(Date)
    accepted_on: Mapped[date | None] = mapped_column(Date)
    # 2025 第十条第二款: the last day of the agreed inspection period (the term runs from it if delayed)
    inspection_due_on: Mapped[date | None] = mapped_column(Date)
    # 2025 第九条第四款: both sides confirmed the settled amount (the term runs from it)
    settled_on: Mapped[date | None] = mapped_column(Date)
    # 2025 第三条第二款: the debtor's kind when the contract was signed (not today's registry kind)
    debtor_kind: Mapped[str] = mapped_column(String(20))
    agreed_days: Mapped[int | None] = mapped_column(Integer)
    # 2025 第九条第三款: a term fixed by a special law, and that law with its article
    special_term_days: Mapped[int | None] = mapped_column(Integer)
    special_term_basis: Mapped[str | None] = mapped_column(String(200))
    agreed_rate_ppm: Mapped[int | None] = mapped_column(Integer)  # agreed annual late-interest rate
    rules: Mapped[str] = mapped_column(String(8))  # the edition of the regulation: 2020 | 2025 | none
    due_on: Mapped[date] = mapped_column(Date)
    claimed_fen: Mapped[int] = mapped_column(BigInteger)
    found_fen: Mapped[int | None] = mapped_column(BigInteger)
    confirmed_fen: Mapped[int | None] = mapped_column(BigInteger)
    disputed_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    dispute_status: Mapped[str | None] = mapped_column(String(20))  # negotiation | court
    repaid_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(20))  # registered | running | cleared | refused | ...
    stage: Mapped[str] = mapped_column(String(120))
    stage_name: Mapped[str] = mapped_column(String(120), default="")
    cooperation_level: Mapped[int] = mapped_column(Integer, default=0)  # non-cooperation steps taken
    description: Mapped[str] = mapped_column(Text, default="")
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), unique=True)
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    registered_by: Mapped[str] = mapped_column(String(80))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ArrearsTask(Base):
    """An open (or done) step of an arrears case, as a row: what an inbox lists.

    A registered case that has not started its route yet has one open row for the acceptance
    review with no instance; the route adopts it when it starts.
    """

    __tablename__ = "arrears_task"
    __table_args__ = (
        Index("ix_arrears_task_inbox", "status", "role", "department_code", "due_at"),
        UniqueConstraint("instance_id", "task_id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("arrears_case.id"), index=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    task_spec: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))  # the lane: complainant | bureau | handler | debtor
    department_code: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | completed | closed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)  # 1 notified, 2 escalated / ceiling
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(80))
    outcome: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)


class ArrearsTimer(Base):
    """A waiting BPMN timer of an arrears case; the arrears sweep asks this table what is due."""

    __tablename__ = "arrears_timer"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("arrears_case.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    event_spec: Mapped[str] = mapped_column(String(80))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ArrearsInstalment(Base):
    """One instalment of a case's current repayment plan."""

    __tablename__ = "arrears_instalment"
    __table_args__ = (UniqueConstraint("case_id", "seq"), CheckConstraint("amount_fen > 0", name="positive"))
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("arrears_case.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[date] = mapped_column(Date)
    amount_fen: Mapped[int] = mapped_column(BigInteger)


class ArrearsRepayment(Base):
    """A repayment recorded against a case (partial or full)."""

    __tablename__ = "arrears_repayment"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="positive"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("arrears_case.id"), index=True)
    paid_on: Mapped[date] = mapped_column(Date, index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    reference: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(80))


class ArrearsOversight(Base):
    """A measure of the city SME bureau on a case under 2025 第二十三条 (函询、约谈、督办、通报)."""

    __tablename__ = "arrears_oversight"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("arrears_case.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # inquiry | summons | supervision | notice
    document_no: Mapped[str] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(Text)
    acted_on: Mapped[date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ArrearsConfirmation(Base):
    """确权: an SME financing a receivable asks the debtor to confirm the debt (2025 第十六条第二款).

    A request of its own, not a step of a complaint."""

    __tablename__ = "arrears_confirmation"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    creditor_uscc: Mapped[str] = mapped_column(String(18), index=True)
    creditor_name: Mapped[str] = mapped_column(String(200))
    debtor_id: Mapped[int] = mapped_column(ForeignKey("arrears_debtor.id"), index=True)
    contract_no: Mapped[str] = mapped_column(String(80))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    financing: Mapped[str] = mapped_column(String(200))  # how the receivable is financed, and with whom
    requested_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    article: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str | None] = mapped_column(String(20))  # confirmed | partial | disputed
    confirmed_fen: Mapped[int | None] = mapped_column(BigInteger)
    answered_on: Mapped[date | None] = mapped_column(Date)
    answered_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(80))
    # the reminder to the debtor's handling department before the due date went out (once)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ArrearsTransfer(Base):
    """A complaint the provincial (or national) 受理投诉部门 accepted and transferred to the city's handling
    department (2025 第二十四条、第二十五条第一款; 2020 第十七条): the transfer as the city recorded it."""

    __tablename__ = "arrears_transfer"
    case_id: Mapped[int] = mapped_column(ForeignKey("arrears_case.id"), primary_key=True)
    transfer_from: Mapped[str] = mapped_column(String(200))  # the acceptance department that transferred it
    document_no: Mapped[str] = mapped_column(String(120))  # its transfer document (转办文书文号)
    complaint_accepted_on: Mapped[date] = mapped_column(Date)  # accepted by that department (正式受理)
    transferred_on: Mapped[date] = mapped_column(Date)
    received_on: Mapped[date] = mapped_column(Date)  # the handling department received the materials
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(80))
