"""The hand-computed pool (pool.py) stored in a test database, with the awards already paid and
the past applications the observed rates rest on:

- enterprise 31 (东湖区): 小巨人 (national) recognised 2023-02-01, paid 24万 of 30万 (ratio 0.8) in a
  past call: that honour pays nothing more, under either edition;
- enterprise 32 (西湖区): 小巨人 recognised 2020-01-01 (before both coverages), application rejected;
- the three payouts of pool.PAID (SRP 4.5万 of 6万: ratio 0.75; SRC 5万 of 5万; SCN 30万 of 30万).
So the observed take-up is 0.5 for 小巨人 (1 of 2 decided paid) and 1 for SRP, SRC and SCN (1 of 1);
the observed ratio 0.8 for 小巨人, 0.75 for SRP, 1 for SRC and SCN.

- enterprises 33-35 (青山湖区): 江西省单项冠军 recognised 2020-06-01 (before both coverages), each
  offered that award without an application (免申即享) in the past call: 33 confirmed (its case went
  on to the district check), 34 let the offer lapse, 35 has not answered yet (not counted). So the
  observed take-up of that award is 0.5, resting on 2 offers.

Honour validity (``valid_until``) is stored as the pool's import record (``honour_source``) of one
test recognition batch.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.accounts.users import create_user
from services.awards.demo import DEMO_PASSWORD
from services.bootstrap import Services
from services.db.models import Application, Call, Enterprise, Fund, Honour, Payout
from services.db.models_pool import HonourSource, Offer, RecognitionBatch
from tests.sandbox.pool import LGN, SCP, raw

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
_OFFERS = [(33, 3301, "m2-single-champion-province", "running", None),
           (34, 3401, "m2-single-champion-province", "lapsed", None),
           (35, 3501, "m2-single-champion-province", "running", None)]


def seed(services: Services) -> int:
    """Store the pool; returns how many pool enterprises were stored."""
    pool = dict(raw())
    pool[31] = ("donghu", [(3101, LGN, date(2023, 2, 1), None)])
    pool[32] = ("xihu", [(3201, LGN, date(2020, 1, 1), None)])
    for eid in (33, 34, 35):
        pool[eid] = ("qingshanhu", [(eid * 100 + 1, SCP, date(2020, 6, 1), None)])
    with services.uow() as uow:
        s = uow.session
        batch = RecognitionBatch(sha256="0" * 64, filename="测试数据.csv", imported_at=AT, imported_by="bureau",
                                 rows_total=3, honours_created=3, honours_existing=0, rows_rejected=0,
                                 enterprises_created=0, names_flagged=0)
        s.add(batch)
        for username, role in USERS:
            create_user(s, hasher=services.password_hasher, username=username, display_name=username, role=role,
                        password=DEMO_PASSWORD)
        for eid, (district, honours) in sorted(pool.items()):
            s.add(Enterprise(id=eid, uscc=f"91360100TEST{eid:06d}", name=f"测试企业{eid:02d}有限公司",
                             review_unit_code=district, created_at=AT))
            s.flush()
            for hid, (kind, level), rec, until in honours:
                s.add(Honour(id=hid, enterprise_id=eid, honour_type=kind, level=level, recognised_on=rec,
                             document_no=f"测试文号-{hid}"))
                if until is not None:
                    s.flush()
                    s.add(HonourSource(honour_id=hid, batch_id=batch.id, line=hid, enterprise_id=eid, honour_type=kind,
                                       level=level, document_no=f"测试文号-{hid}", valid_until=until))
        fund = Fund(code="test-fund-2023", name="测试数据：专项资金", year=2023, budget_fen=100_000_000, paid_fen=0)
        s.add(fund)
        s.flush()
        call = Call(edition_code="2022-109", fund_id=fund.id, title="测试数据：2023 年申报批次",
                    opens_on=date(2023, 3, 1), closes_on=date(2023, 5, 31),
                    award_types=sorted({a[2] for a in [*_APPLICATIONS, *_OFFERS]}))
        s.add(call)
        s.flush()
        for eid, hid, code, status, awarded in [*_APPLICATIONS, *_OFFERS]:
            stage = {33: "district_check", 35: "confirm_offer"}.get(eid, "end")
            app = Application(call_id=call.id, enterprise_id=eid, award_type_code=code, honour_id=hid,
                              review_unit_code=pool[eid][0], requested_fen=awarded or 1_000_000, awarded_fen=awarded,
                              status=status, stage=stage, created_at=AT, updated_at=AT)
            s.add(app)
            s.flush()
            if eid in (33, 34, 35):
                s.add(Offer(call_id=call.id, enterprise_id=eid, measure=2, award_type_code=code, honour_id=hid,
                            application_id=app.id, review_unit_code=pool[eid][0], cap_fen=20_000_000, created_at=AT))
            if status == "paid" and awarded:
                s.add(Payout(application_id=app.id, enterprise_id=eid, award_type_code=code, fund_id=fund.id,
                             amount_fen=awarded, reference=f"TEST-PAY-{app.id}", paid_at=AT, paid_by="finance"))
                fund.paid_fen += awarded
        uow.commit()
    return len(pool)
