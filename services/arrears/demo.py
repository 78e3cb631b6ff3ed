"""Demo data for the arrears campaign: handling-department officers, debtors, and cases driven
through the route by the real services on a manual clock (like services.awards.demo for the awards).

`ArrearsDemo(services).load()` expects the award demo's users (services.awards.demo.Demo.load()): it maps
the district officers of 东湖区 and 西湖区 to their handling departments (head-donghu as head).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from stdnum.cn import uscc as uscc_check

from services.arrears import actions, intake, registry
from services.arrears.sweep import sweep
from services.awards.demo import refuse_outside_development
from services.db.models import Enterprise
from services.db.models_arrears import ArrearsCase, ArrearsDebtor, ArrearsTask
from services.time.clock import ManualClock

if TYPE_CHECKING:
    from services.bootstrap import Services

__all__ = ["DEBTORS", "OFFICERS", "ArrearsDemo", "make_uscc"]

# (username, department, head)
OFFICERS = [("district-donghu", "donghu", False), ("head-donghu", "donghu", True), ("district-xihu", "xihu", True)]
# (key, USCC prefix and serial, name, kind, department)
DEBTORS = [
    ("gov", "11", 1, "南昌市东湖区城市管理局", "government", "donghu"),
    ("school", "12", 2, "南昌市东湖区某公办学校", "institution", "donghu"),
    ("hospital", "12", 3, "南昌市西湖区某公立医院", "institution", "xihu"),
    ("builder", "91", 4, "南昌某建设集团有限公司（大型企业）", "large_enterprise", "xihu"),
]


def make_uscc(prefix: str, serial: int) -> str:
    """A valid, obviously synthetic credit code: prefix (e.g. 11 机关, 12 事业单位, 91 企业) + Nanchang + serial."""
    body = f"{prefix}360100{serial:09d}"[:17]
    return body + uscc_check.calc_check_digit(body)


class ArrearsDemo:
    """Loads the campaign's demo data and drives a few cases, printing each step when `echo`."""

    def __init__(self, services: Services, *, echo: bool = False, say: Callable[[str], None] = print) -> None:
        refuse_outside_development(services.settings.environment)
        if not isinstance(services.clock, ManualClock):
            services.clock = ManualClock(datetime(2025, 7, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
        self.s = services
        self.clock: ManualClock = services.clock
        self.echo, self.say = echo, say
        self.cases: dict[str, int] = {}

    def _log(self, text: str) -> None:
        if self.echo:
            self.say(text)

    def load(self) -> dict[str, int]:
        """Officers, debtors and four cases: cleared, partly disputed, escalated (complaints transferred by the
        provincial acceptance department, demo documents) and refused (a campaign ledger row). Idempotent."""
        now = self.clock.now()
        with self.s.uow() as uow:
            s = uow.session
            if s.scalar(select(ArrearsDebtor.id).limit(1)) is not None:
                return {}
            for username, department, head in OFFICERS:
                registry.add_officer(s, username=username, department=department, head=head, actor="demo", now=now)
            for _key, prefix, serial, name, kind, department in DEBTORS:
                registry.add_debtor(s, uscc=make_uscc(prefix, serial), name=name, kind=kind, department=department,
                                    actor="demo", now=now)
            uow.commit()
        creditors = self._creditors()
        # (the builder's contract is signed under the 2025 rules: 60 days for a large enterprise)
        self.cases["cleared"] = self._register(creditors[0], "gov", "DH-2024-017", "2024-11-02", 180_000)
        self.cases["disputed"] = self._register(creditors[1], "builder", "JS-2025-031", "2025-06-10", 520_000,
                                                signed="2025-06-02")
        self.cases["refused"] = self._register(creditors[2], "school", "XX-2023-005", "2024-01-15", 35_000,
                                               how="ledger")
        self.cases["escalated"] = self._register(creditors[0], "hospital", "YY-2024-088", "2024-09-20", 96_000)
        self._drive()
        return self.cases

    def _creditors(self) -> list[tuple[str, str]]:
        with self.s.uow() as uow:
            rows = uow.session.execute(select(Enterprise.uscc, Enterprise.name).order_by(Enterprise.id)).all()
        found = [(r[0], r[1]) for r in rows]
        while len(found) < 3:
            found.append((make_uscc("91", 900 + len(found)), f"演示中小企业{len(found) + 1}"))
        return found

    def _register(self, creditor: tuple[str, str], debtor_key: str, contract: str, delivered: str,
                  yuan: int, *, signed: str | None = None, how: str = "province") -> int:
        debtor = next(d for d in DEBTORS if d[0] == debtor_key)
        record: dict[str, Any] = {
            "creditor_uscc": creditor[0], "creditor_name": creditor[1],
            "debtor_uscc": make_uscc(debtor[1], debtor[2]), "contract_no": contract,
            "signed_on": signed or (date.fromisoformat(delivered) - timedelta(days=60)).isoformat(),
            "delivered_on": delivered, "amount": str(yuan), "intake": how}
        if how == "province":  # demo data: the transfer of a provincial acceptance department (not real documents)
            today = self._today()
            record |= {"transfer_from": "演示：省级受理投诉部门",
                       "transfer_document": f"演示转办〔{today.year}〕{contract}",
                       "complaint_accepted_on": (today - timedelta(days=7)).isoformat(),
                       "transferred_on": (today - timedelta(days=2)).isoformat(),
                       "received_on": (today - timedelta(days=1)).isoformat()}
        with self.s.uow() as uow:
            case = intake.register(uow, self.s, record=record, actor="bureau", now=self.clock.now())
            uow.commit()
            self._log(f"清欠案件 {case.id}：{creditor[1]} 诉 {debtor[3]}，{yuan:,} 元（应付日 {case.due_on}）")
            return case.id

    def step(self, case_id: int, spec: str, username: str, decision: str, reason: str | None = None,
             **fields: str) -> None:
        """Decide the case's open step `spec` two hours from now."""
        self.clock.advance(timedelta(hours=2))
        with self.s.uow() as uow:
            row = uow.session.execute(select(ArrearsTask.id, ArrearsTask.name).where(
                ArrearsTask.case_id == case_id, ArrearsTask.task_spec == spec, ArrearsTask.status == "open")).first()
            if row is None:
                raise LookupError(f"case {case_id} has no open step {spec}")
            task_id, step_name = row
            actions.act(uow, self.s, task_id=task_id, username=username, now=self.clock.now(),
                        step=actions.Step(decision, reason, fields))
            uow.commit()
        self._log(f"  案件 {case_id} · {step_name} · {username}：{actions.DECISION_NAMES.get(decision, decision)}")

    def _today(self) -> date:
        return self.clock.now().astimezone(ZoneInfo(self.s.settings.timezone)).date()

    def _drive(self) -> None:
        c = self.cases
        today = self._today()
        self.step(c["refused"], "acceptance_review", "bureau", "refuse", "经核实不属于清欠范围：合同已另案诉讼")
        self.step(c["cleared"], "handle", "district-donghu", "result", amount="180000")
        self.step(c["cleared"], "debtor_confirmation", "district-donghu", "confirm")
        plan = f"{today + timedelta(days=40)}=100000; {today + timedelta(days=60)}=80000"
        self.step(c["cleared"], "repayment_plan", "district-donghu", "plan", instalments=plan)
        self.step(c["disputed"], "handle", "district-xihu", "result", amount="520000")
        self.step(c["disputed"], "debtor_confirmation", "district-xihu", "partial", amount="300000")
        self.step(c["disputed"], "dispute_route", "district-xihu", "court")
        self.step(c["escalated"], "handle", "district-xihu", "result", amount="96000")
        self.clock.advance(timedelta(days=35))  # the debtor lets its reply period pass (arrears_debtor_reply_days)
        sweep(self.s, self.clock.now())
        self.step(c["escalated"], "supervision_letter", "district-xihu", "issued", document_no="洪清欠督〔2025〕1号")
        paid_on = self._today().isoformat()
        self.step(c["cleared"], "record_repayment", "district-donghu", "repaid", amount="100000", paid_on=paid_on,
                  reference="BANK-0001")
        self.step(c["cleared"], "record_repayment", "district-donghu", "repaid", amount="80000", paid_on=paid_on,
                  reference="BANK-0002")
        self.step(c["cleared"], "verify_clearance", "bureau", "close")

    def statuses(self) -> dict[str, Any]:
        with self.s.uow() as uow:
            return {k: uow.session.get_one(ArrearsCase, v).status for k, v in self.cases.items()}
