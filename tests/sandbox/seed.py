"""The hand-computed pool (pool.py) stored in a test database, with the awards already paid and
the past applications the observed rates rest on:

- enterprise 31 (东湖区): 小巨人 (national) recognised 2023-02-01, paid 24万 of 30万 (ratio 0.8) in a
  past call: that honour pays nothing more, under either edition;
- enterprise 32 (西湖区): 小巨人 recognised 2020-01-01 (before both coverages), application rejected;
- the three payouts of pool.PAID (SRP 4.5万 of 6万: ratio 0.75; SRC 5万 of 5万; SCN 30万 of 30万).
So the observed take-up is 0.5 for 小巨人 (1 of 2 decided paid) and 1 for SRP, SRC and SCN (1 of 1);
the observed ratio 0.8 for 小巨人, 0.75 for SRP, 1 for SRC and SCN.

Honour validity (``valid_until``) lives in the pool's import record; without that table the two
expired honours (enterprises 12 and 29, worth nothing under either edition) are left out.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import inspect

from services.accounts.users import create_user
from services.awards.demo import DEMO_PASSWORD
from services.bootstrap import Services
from services.db.models import Application, Call, Enterprise, Fund, Honour, Payout
from tests.sandbox.pool import AS_OF, LGN, raw

AT = datetime(2023, 6, 1, 2, 0, tzinfo=UTC)
USERS = (("bureau", "bureau"), ("finance", "finance"), ("manager", "manager"), ("auditor", "auditor"))
# (enterprise, honour, award code of 2022-109, status, awarded fen)
_APPLICATIONS = [
    (15, 1501, "m2-srdi-sme-province", "paid", 4_500_000),
    (16, 1601, "m2-srdi-sme-city", "paid", 5_000_000),
    (30, 3001, "m2-single-champion-national", "paid", 30_000_000),
    (31, 3101, "m2-little-giant-national", "paid", 24_000_000),
    (32, 3201, "m2-little-giant-national", "rejected", None),
]


def seed(services: Services) -> int:
    """Store the pool; returns how many pool enterprises were stored."""
    pool = dict(raw())
    pool[31] = ("donghu", [(3101, LGN, date(2023, 2, 1), None)])
    pool[32] = ("xihu", [(3201, LGN, date(2020, 1, 1), None)])
    with services.uow() as uow:
        s = uow.session
        with_validity = inspect(s.connection()).has_table("honour_source")
        if not with_validity:
            pool = {k: v for k, v in pool.items() if all(h[3] is None or h[3] >= AS_OF for h in v[1])}
        for username, role in USERS:
            create_user(s, hasher=services.password_hasher, username=username, display_name=username, role=role,
                        password=DEMO_PASSWORD)
        for eid, (district, honours) in sorted(pool.items()):
            s.add(Enterprise(id=eid, uscc=f"91360100TEST{eid:06d}", name=f"测试企业{eid:02d}有限公司",
                             review_unit_code=district, created_at=AT))
            s.flush()
            for hid, (kind, level), rec, _until in honours:
                s.add(Honour(id=hid, enterprise_id=eid, honour_type=kind, level=level, recognised_on=rec,
                             document_no=f"测试文号-{hid}"))
        fund = Fund(code="test-fund-2023", name="测试数据：专项资金", year=2023, budget_fen=100_000_000, paid_fen=0)
        s.add(fund)
        s.flush()
        call = Call(edition_code="2022-109", fund_id=fund.id, title="测试数据：2023 年申报批次",
                    opens_on=date(2023, 3, 1), closes_on=date(2023, 5, 31),
                    award_types=[a[2] for a in _APPLICATIONS])
        s.add(call)
        s.flush()
        for eid, hid, code, status, awarded in _APPLICATIONS:
            app = Application(call_id=call.id, enterprise_id=eid, award_type_code=code, honour_id=hid,
                              review_unit_code=pool[eid][0], requested_fen=awarded or 1_000_000, awarded_fen=awarded,
                              status=status, stage="end", created_at=AT, updated_at=AT)
            s.add(app)
            s.flush()
            if status == "paid" and awarded:
                s.add(Payout(application_id=app.id, enterprise_id=eid, award_type_code=code, fund_id=fund.id,
                             amount_fen=awarded, reference=f"TEST-PAY-{app.id}", paid_at=AT, paid_by="finance"))
                fund.paid_fen += awarded
        uow.commit()
    return len(pool)
