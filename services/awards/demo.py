"""Demo data and a scripted run of every path of the award routes, through the real services.

The demo replays a 2024 call (the 2022 edition was in force then) on a manual clock, so public
notice periods pass in seconds and deadlines follow the real 2024 holiday calendar.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import select
from stdnum.cn import uscc as uscc_check

from config.settings import DEV_ENVIRONMENTS
from services.accounts import users
from services.awards import applications, calls, demo_clock, enterprises, funds, labels, tasks
from services.awards.deadlines import sweep
from services.awards.tasks import Decision
from services.db.models import Application, Call, Honour, User, WorkItem
from services.errors import Forbidden, SmeflowError
from services.time.clock import ManualClock, SystemClock

if TYPE_CHECKING:
    from services.bootstrap import Services

DEMO_PASSWORD = "smeflow-demo"  # documented in the README; demo accounts only
START = datetime(2024, 6, 3, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
#: where the demo clock stands after `smeflow demo`: inside the 2022 edition's term, in the 2025 call
DEMO_NOW = datetime(2025, 6, 16, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
OFFICERS = [
    ("district-donghu", "东湖区经办人", "district", "donghu"),
    ("head-donghu", "东湖区分管负责人", "district", "donghu"),
    ("district-xihu", "西湖区经办人", "district", "xihu"),
    ("district-honggutan", "红谷滩区经办人", "district", "honggutan"),
    ("onsite-honggutan", "红谷滩区现场核查员", "district", "honggutan"),
    ("bureau", "市中小企业局复审员", "bureau", None),
    ("finance", "市财政局拨付员", "finance", None),
    ("manager", "市中小企业局科长", "manager", None),
    ("auditor", "审计员", "auditor", None),
    ("admin", "系统管理员", "admin", None),
]
# (key, name, unit, honour type, level, recognised on, award type, requested yuan)
ENTERPRISES = [
    ("a", "南昌精工智能装备有限公司", "donghu", "little_giant", "national", date(2023, 7, 14), 300_000),
    ("b", "江西赣江新材料科技有限公司", "xihu", "srdi_sme", "province", date(2022, 12, 20), 60_000),
    ("c", "南昌洪城食品有限公司", "donghu", "srdi_sme", "city", date(2023, 5, 10), 50_000),
    ("d", "红谷滩数字科技有限公司", "honggutan", "single_champion", "province", date(2023, 3, 1), 200_000),
    ("e", "南昌中小企业综合服务中心有限公司", "xihu", "service_platform", "city", date(2023, 9, 8), 100_000),
    ("f", "赣江双创产业园运营有限公司", "honggutan", "innovation_base", "national", date(2023, 12, 5), 300_000),
]

# the newcomer's enterprise of the 2025 round: an honour, no application yet
NEWCOMER = ("g", "南昌示例智造科技有限公司", "donghu", "srdi_sme", "province", date(2024, 11, 20))


def refuse_outside_development(environment: str) -> None:
    """The demo (its public password, its scripted cases) exists only in development and test."""
    if environment not in DEV_ENVIRONMENTS:
        raise Forbidden(f"演示数据只能在开发或测试环境中加载（SMEFLOW_ENVIRONMENT 为 {environment}，"
                        "应为 development 或 test）")


@dataclass
class DemoCase:
    key: str
    title: str
    application_id: int = 0
    path: list[str] = field(default_factory=list)


def demo_uscc(n: int) -> str:
    """A valid, obviously synthetic credit code (check character computed per GB 32100-2015)."""
    body = f"91360100MA{n:07d}"
    return body + uscc_check.calc_check_digit(body)


class Demo:
    """Loads demo data and drives the cases, printing each step."""

    def __init__(self, services: Services, echo: bool = True) -> None:
        refuse_outside_development(services.settings.environment)
        clock = services.clock if isinstance(services.clock, ManualClock) else ManualClock(START)
        services.clock = clock
        self.s = services
        self.clock = clock
        self.echo = echo
        self.cases: dict[str, DemoCase] = {}

    def already_loaded(self) -> bool:
        with self.s.uow() as uow:
            return uow.session.scalar(select(User.id).where(User.username == "bureau")) is not None

    # -- data -----------------------------------------------------------------------------
    def load(self) -> None:
        now, today = self.clock.now(), self._today()
        edition = self.s.editions[0]
        with self.s.uow() as uow:
            session = uow.session
            for username, name, role, unit in OFFICERS:
                users.create_user(
                    session,
                    hasher=self.s.password_hasher,
                    username=username,
                    display_name=name,
                    role=role,
                    password=DEMO_PASSWORD,
                    review_unit_code=unit,
                    email=f"{username}@example.gov.cn",
                    unit_head=username.startswith("head-"),
                )
            for i, (key, name, unit, htype, level, recognised, _req) in enumerate(ENTERPRISES, start=1):
                ent = enterprises.register(
                    session,
                    uscc=demo_uscc(i),
                    name=name,
                    review_unit_code=unit,
                    email=f"{key}@example.com",
                    actor="admin",
                    now=now,
                    today=today,
                )
                enterprises.add_honour(
                    session,
                    enterprise_id=ent.id,
                    honour_type=htype,
                    level=level,
                    recognised_on=recognised,
                    document_no=f"示例文号〔{recognised.year}〕{i}号",
                    issuer=None,
                    editions=self.s.editions,
                    actor="admin",
                    now=now,
                )
                users.create_user(
                    session,
                    hasher=self.s.password_hasher,
                    username=f"applicant-{key}",
                    display_name=name,
                    role="applicant",
                    password=DEMO_PASSWORD,
                    enterprise_id=ent.id,
                    email=f"{key}@example.com",
                )
            calls.create_fund(
                session,
                code="sme-2024",
                name="2024年市级中小企业发展专项资金",
                year=2024,
                budget_fen=600_000_00,
                actor="admin",
                now=now,
            )
            calls.open_call(
                session,
                edition=edition,
                title="2024年度优质中小企业奖补第一批",
                opens_on=date(2024, 6, 1),
                closes_on=date(2024, 6, 30),
                award_types=[a.code for a in edition.award_types],
                fund_code="sme-2024",
                actor="bureau",
                now=now,
            )
            uow.commit()

    # -- driving --------------------------------------------------------------------------
    def _today(self) -> date:
        return self.clock.now().astimezone(ZoneInfo(self.s.settings.timezone)).date()

    def _say(self, text: str) -> None:
        if self.echo:
            print(text)

    def apply(self, key: str, title: str) -> DemoCase:
        _k, name, _u, htype, level, _d, requested = next(e for e in ENTERPRISES if e[0] == key)
        edition = self.s.editions[0]
        award = next(a for a in edition.award_types if (a.honour_type, a.level) == (htype, level))
        with self.s.uow() as uow:
            session = uow.session
            user = users.get_user(session, f"applicant-{key}")
            call = session.scalars(select(Call)).one()
            honour_id = session.scalars(select(Honour.id).where(Honour.enterprise_id == user.enterprise_id)).one()
            app = applications.apply(
                uow,
                self.s,
                call_id=call.id,
                enterprise_id=user.enterprise_id or 0,
                award_type_code=award.code,
                honour_id=honour_id,
                requested_fen=requested * 100,
                description=f"{name}申报{award.name_zh}",
                actor=user.username,
                now=self.clock.now(),
                today=self._today(),
            )
            uow.commit()
        case = DemoCase(key, title, app.id, [f"申报 {award.name_zh}（{name}）"])
        self.cases[key] = case
        return case

    def act(
        self,
        case: DemoCase,
        username: str,
        decision: str,
        *,
        reason: str | None = None,
        amount_yuan: int | None = None,
        reference: str | None = None,
    ) -> bool:
        self.clock.advance(timedelta(hours=5))
        with self.s.uow() as uow:
            item = uow.session.scalars(
                select(WorkItem).where(WorkItem.application_id == case.application_id, WorkItem.status == "open")
            ).first()
            assert item is not None, f"case {case.application_id} has no open work item"
            d = Decision(decision, reason, amount_yuan * 100 if amount_yuan is not None else None, reference)
            try:
                tasks.complete(uow, self.s, item_id=item.id, username=username, decision=d, now=self.clock.now())
                uow.commit()
            except SmeflowError as exc:
                case.path.append(f"{item.name}：{username} {labels.decision(decision)} → 被拒绝：{exc.message}")
                return False
        label = f"{item.name}：{username} {labels.decision(decision)}"
        label += f"（{amount_yuan:,} 元）" if amount_yuan else ""
        label += f"（理由：{reason}）" if reason else ""
        case.path.append(label)
        return True

    def pass_public_notice(self) -> None:
        """Move the clock past the notice period and run the deadline sweep, as the worker would."""
        self.clock.advance(timedelta(days=self.s.settings.stage_limits["public_notice"] * 2 + 4))
        report = sweep(self.s, self.clock.now())
        for app_id, spec in report.fired:
            for case in self.cases.values():
                if case.application_id == app_id and spec == "public_notice_period":
                    case.path.append("公示期满，无异议")

    def run(self) -> list[DemoCase]:
        """Every path: payout, return and resubmit, rejections, objection, payout refused and deferred."""
        a = self.apply("a", "直接通过并拨付")
        b = self.apply("b", "退回补正后重新提交")
        c = self.apply("c", "区县初审不予通过")
        d = self.apply("d", "市局复审不予通过")
        e = self.apply("e", "公示期间收到异议")
        f = self.apply("f", "资金不足，暂缓拨付")
        self.act(a, "district-donghu", "approve")
        self.act(b, "district-xihu", "return", reason="缺少认定文件扫描件")
        self.act(b, "applicant-b", "resubmit")
        self.act(b, "district-xihu", "approve")
        self.act(c, "district-donghu", "reject", reason="企业列入严重失信主体名单")
        self.act(d, "district-honggutan", "approve")
        self.act(d, "bureau", "reject", reason="申报材料与认定文件不一致")
        self.act(e, "district-xihu", "approve")
        self.act(f, "district-honggutan", "approve")
        self.act(f, "onsite-honggutan", "approve")  # on-site check (measure 9), by another officer
        self.act(a, "bureau", "approve", amount_yuan=300_000)
        self.act(b, "bureau", "approve", amount_yuan=50_000)
        self.act(e, "bureau", "approve", amount_yuan=100_000)
        self.act(f, "bureau", "approve", amount_yuan=300_000)
        self.act(e, "bureau", "objection", reason="实名书面异议：服务企业数量存疑")
        self.act(e, "bureau", "approve", amount_yuan=80_000)
        self.pass_public_notice()
        for case, ref in ((a, "PAY-2024-0001"), (b, "PAY-2024-0002"), (e, "PAY-2024-0003"), (f, "PAY-2024-0004")):
            self.act(case, "finance", "pay", reference=ref)
        self.act(f, "finance", "defer", reason="专项资金余额不足，待追加预算后拨付")
        return list(self.cases.values())


    # -- today, on the demo clock ------------------------------------------------------------
    def prepare_today(self) -> datetime:
        """A 2025 round a newcomer can walk through in the browser: the 2025 budget lines, an open call
        and one more enterprise (applicant-g) with an honour and no application yet; then the demo
        clock is stored at DEMO_NOW (inside the 2022 edition's term), so every process runs on it."""
        edition = self.s.editions[0]
        self.clock.set(max(self.clock.now(), DEMO_NOW - timedelta(days=20)))
        now, today = self.clock.now(), self._today()
        with self.s.uow() as uow:
            session = uow.session
            bureau = users.get_user(session, "bureau")
            for line, budget_yuan in (("city", 2_000_000), ("donghu", 300_000), ("xihu", 300_000),
                                      ("honggutan", 300_000)):
                funds.create(session, user=bureau, year=2025, line=line, budget_fen=budget_yuan * 100, name=None,
                             now=now)
            key, name, unit, htype, level, recognised = NEWCOMER
            ent = enterprises.register(session, uscc=demo_uscc(len(ENTERPRISES) + 1), name=name,
                                       review_unit_code=unit, email=f"{key}@example.com", actor="admin", now=now,
                                       today=today)
            enterprises.add_honour(session, enterprise_id=ent.id, honour_type=htype, level=level,
                                   recognised_on=recognised, document_no=f"示例文号〔{recognised.year}〕7号",
                                   issuer=None, editions=self.s.editions, actor="admin", now=now)
            users.create_user(session, hasher=self.s.password_hasher, username=f"applicant-{key}",
                              display_name=name, role="applicant", password=DEMO_PASSWORD, enterprise_id=ent.id,
                              email=f"{key}@example.com")
            calls.open_call(session, edition=edition, title="2025年度优质中小企业奖补（演示）",
                            opens_on=date(2025, 6, 1), closes_on=date(2025, 7, 31),
                            award_types=[a.code for a in edition.award_types], fund_code="2025-city",
                            actor="bureau", now=now)
            demo_clock.store(session, demo_at=DEMO_NOW, wall=SystemClock().now(), actor="smeflow demo")
            uow.commit()
        return DEMO_NOW


def application_ids(services: Services) -> list[int]:
    with services.uow() as uow:
        return list(uow.session.scalars(select(Application.id).order_by(Application.id)))
