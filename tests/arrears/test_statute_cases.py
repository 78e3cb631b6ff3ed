"""The contract facts of issue 14 items 4 and 6-9 go through registration into the case and onto its page."""

from __future__ import annotations

from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.web import create_app
from services.arrears import registry
from services.arrears.demo import make_uscc
from services.bootstrap import Services
from services.db.models_arrears import ArrearsCase
from services.errors import InvalidInput
from tests.arrears.conftest import PASSWORD, build_campaign

ORG = make_uscc("51", 9)  # a 团体组织 (social organisation) using fiscal funds


def test_registration_stores_the_contract_facts_and_the_page_shows_the_article(services: Services) -> None:
    c = build_campaign(services)
    with services.uow() as uow:
        registry.add_debtor(uow.session, uscc=ORG, name="南昌某行业协会", kind="organisation", department="donghu",
                            actor="test", now=c.now())
        uow.commit()
    # 2025 第三十六条 + 第十条第二款: inspection agreed to end Fri 2025-07-25, accepted late on 2025-09-01;
    # 30 days from 07-25 end on Sun 08-24, so Mon 2025-08-25.
    late = c.register(n=1, debtor_uscc=ORG, signed_on="2025-07-01", delivered_on="2025-07-10",
                      accepted_on="2025-09-01", inspection_due_on="2025-07-25")
    # 2025 第九条第四款: a large enterprise, settlement confirmed Fri 2025-08-15: 60 days = Tue 2025-10-14;
    # at signing it was a large enterprise (第三条第二款), stored on the case.
    settled = c.register(n=2, debtor="big", signed_on="2025-06-10", delivered_on="2025-06-20",
                         settled_on="2025-08-15", debtor_kind="大型企业")
    # 2020 第二十九条: signed 2020-08-31, agreed 20 days from Thu 2020-09-10 = Wed 2020-09-30.
    old = c.register(n=3, signed_on="2020-08-31", delivered_on="2020-09-10", agreed_days="20")
    with services.uow() as uow:
        rows = {r.id: r for r in uow.session.scalars(select(ArrearsCase))}
    assert (rows[late].due_on, rows[late].debtor_kind, rows[late].inspection_due_on) == (
        date(2025, 8, 25), "organisation", date(2025, 7, 25))
    assert (rows[settled].due_on, rows[settled].settled_on, rows[settled].debtor_kind) == (
        date(2025, 10, 14), date(2025, 8, 15), "large_enterprise")
    assert (rows[old].due_on, rows[old].rules) == (date(2020, 9, 30), "none")

    with TestClient(create_app(services), follow_redirects=False) as client:
        assert client.post("/login", data={"username": "bureau", "password": PASSWORD}).status_code == 303
        page = client.get(f"/arrears/cases/{late}").text
        assert "第十条第二款" in page and "拖延检验或者验收" in page and "第三十六条" in page
        assert "签订时债务人为团体组织（使用财政资金）" in page
        assert "第九条第四款" in client.get(f"/arrears/cases/{settled}").text
        old_page = client.get(f"/arrears/cases/{old}").text
        assert "不溯及既往" in old_page and "不计逾期利息" in old_page and "ck_" not in old_page


def test_a_contract_with_an_sme_at_signing_is_refused_and_nothing_is_stored(services: Services) -> None:
    c = build_campaign(services)
    try:
        c.register(n=1, debtor="big", signed_on="2025-06-10", delivered_on="2025-06-20", debtor_kind="中小企业")
    except InvalidInput as exc:
        assert exc.field == "debtor_kind" and "第三条第二款" in exc.rule
    else:
        raise AssertionError("an SME debtor at signing must be refused")
    with services.uow() as uow:
        assert uow.session.scalars(select(ArrearsCase)).all() == []
