"""Arrears fixtures: a campaign with officers, handling departments, debtors and a creditor, on the
real database, and helpers that drive cases through the real services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from services.accounts import users
from services.arrears import actions, intake, registry
from services.arrears.demo import make_uscc
from services.arrears.sweep import SweepReport, sweep
from services.awards import enterprises
from services.bootstrap import Services
from services.db.models_arrears import ArrearsCase, ArrearsTask
from services.time.clock import ManualClock

SHANGHAI = ZoneInfo("Asia/Shanghai")
PASSWORD = "arrears-test-pw"
DEBTORS = {  # key -> (uscc, kind, department)
    "gov": (make_uscc("11", 1), "government", "donghu"),
    "school": (make_uscc("12", 2), "institution", "donghu"),
    "big": (make_uscc("91", 3), "large_enterprise", "city-sasac"),
}
CREDITOR = make_uscc("91", 77)
# Test data, not a real document: most tests register complaints the city bureau reviews itself, which
# needs a local arrangement on record (setting arrears_acceptance_arrangement; 2025 第二十四条 gives
# acceptance to the provincial department).
TEST_ARRANGEMENT = "测试用：省级受理投诉部门委托本市代为受理的文件（非真实文件）"
OTHER_CREDITOR = make_uscc("91", 78)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: a large-volume test (tens of seconds); deselect with -m 'not slow'")


@dataclass
class Campaign:
    services: Services

    @property
    def clock(self) -> ManualClock:
        assert isinstance(self.services.clock, ManualClock)
        return self.services.clock

    def now(self) -> datetime:
        return self.services.clock.now()

    def today(self) -> date:
        return self.now().astimezone(SHANGHAI).date()

    def at(self, local: datetime) -> None:
        self.clock.set(local.replace(tzinfo=SHANGHAI) if local.tzinfo is None else local)

    def travel(self, **delta: float) -> None:
        self.clock.advance(timedelta(**delta))

    def register(self, **overrides: Any) -> int:
        record = {"creditor_uscc": CREDITOR, "creditor_name": "南昌测试科技有限公司", "debtor_uscc": DEBTORS["gov"][0],
                  "contract_no": f"HT-{overrides.pop('n', 1)}", "signed_on": "2024-01-10",
                  "delivered_on": "2024-03-01", "amount": "100000.00"}
        if "debtor" in overrides:
            record["debtor_uscc"] = DEBTORS[overrides.pop("debtor")][0]
        record.update(overrides)
        with self.services.uow() as uow:
            case = intake.register(uow, self.services, record=record, actor="bureau", now=self.now())
            uow.commit()
            return case.id

    def open_steps(self, case_id: int) -> dict[str, ArrearsTask]:
        with self.services.uow() as uow:
            rows = uow.session.scalars(select(ArrearsTask).where(ArrearsTask.case_id == case_id,
                                                                 ArrearsTask.status == "open")).all()
            return {r.task_spec: r for r in rows}

    def act(self, case_id: int, spec: str, username: str, decision: str, reason: str | None = None,
            **fields: str) -> None:
        task = self.open_steps(case_id).get(spec)
        assert task is not None, f"case {case_id} has no open {spec}: {sorted(self.open_steps(case_id))}"
        with self.services.uow() as uow:
            actions.act(uow, self.services, task_id=task.id, username=username, now=self.now(),
                        step=actions.Step(decision, reason, fields))
            uow.commit()

    def case(self, case_id: int) -> ArrearsCase:
        with self.services.uow() as uow:
            return uow.session.get_one(ArrearsCase, case_id)

    def sweep(self) -> SweepReport:
        return sweep(self.services, self.now())

    def to_handling(self, case_id: int) -> None:
        self.act(case_id, "acceptance_review", "bureau", "accept")
        self.act(case_id, "transfer", "bureau", "transfer")

    def to_repayment(self, case_id: int, *, found: str = "100000", plan: str | None = None) -> None:
        self.to_handling(case_id)
        self.act(case_id, "handle", "handler", "result", amount=found)
        self.act(case_id, "debtor_confirmation", "handler", "confirm")
        day = self.today() + timedelta(days=30)
        self.act(case_id, "repayment_plan", "handler", "plan", instalments=plan or f"{day}={found}")


def build_campaign(services: Services, *, arrangement: str = TEST_ARRANGEMENT) -> Campaign:
    services.settings = services.settings.model_copy(update={"arrears_acceptance_arrangement": arrangement})
    now = services.clock.now()
    with services.uow() as uow:
        s = uow.session
        ent = enterprises.register(s, uscc=CREDITOR, name="南昌测试科技有限公司", review_unit_code="donghu",
                                   email="sme@example.test", actor="test", now=now, today=now.date())
        h = services.password_hasher
        for name, role, unit, extra in [
            ("bureau", "bureau", None, {}), ("bureau2", "bureau", None, {}),
            ("handler", "district", "donghu", {}), ("head", "district", "donghu", {"unit_head": True}),
            ("xihu", "district", "xihu", {}), ("manager", "manager", None, {}), ("auditor", "auditor", None, {}),
            ("sasac", "district", "qingshanhu", {}),
        ]:
            users.create_user(s, hasher=h, username=name, display_name=name, role=role, password=PASSWORD,
                              review_unit_code=unit, email=f"{name}@example.test", **extra)
        users.create_user(s, hasher=h, username="sme", display_name="企业", role="applicant", password=PASSWORD,
                          enterprise_id=ent.id, email="sme@example.test")
        registry.add_officer(s, username="handler", department="donghu", head=False, actor="test", now=now)
        registry.add_officer(s, username="head", department="donghu", head=True, actor="test", now=now)
        registry.add_officer(s, username="xihu", department="xihu", head=True, actor="test", now=now)
        registry.add_officer(s, username="sasac", department="city-sasac", head=True, actor="test", now=now)
        for key, (code, kind, department) in DEBTORS.items():
            registry.add_debtor(s, uscc=code, name=f"债务人-{key}", kind=kind, department=department, actor="test",
                                now=now)
        uow.commit()
    return Campaign(services)


@pytest.fixture
def campaign(services: Services) -> Campaign:
    return build_campaign(services)
