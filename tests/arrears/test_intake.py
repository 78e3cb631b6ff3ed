"""Who accepts a complaint (issue 14 item 1): the provincial (or national) 受理投诉部门 accepts it and transfers it
to the handling department (2025 第二十四条第一款、第二十五条第一款; 2020 第十七条第一款、第二款). The city records
such a transfer and the route starts at the handling department, its 30 days counted from the day the
materials were received (2025 第二十五条第二款). The city bureau reviews and transfers complaints itself only
under a local arrangement named in the setting arrears_acceptance_arrangement; a campaign ledger row is
verified and assigned by the bureau without it. Day counts: 民法典 第二百零一条、第二百零三条.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.web import create_app
from services.audit import chain as audit
from services.bootstrap import Services
from services.db.models import AuditEvent
from services.db.models_arrears import ArrearsCase, ArrearsTransfer
from services.errors import Forbidden, InvalidInput, NotFound
from tests.arrears.conftest import PASSWORD, TEST_ARRANGEMENT, Campaign, build_campaign
from tests.arrears.test_route import flow_data, utc_end_of

TRANSFER = {"intake": "province", "transfer_from": "测试用：省级受理投诉部门", "transfer_document": "测试转〔2025〕7号",
            "complaint_accepted_on": "2025-06-20", "transferred_on": "2025-06-27", "received_on": "2025-06-30"}


@pytest.fixture
def city(services: Services) -> Campaign:
    """The campaign with no local arrangement on record (the default)."""
    return build_campaign(services, arrangement="")


def counts(c: Campaign) -> tuple[int, int, int]:
    with c.services.uow() as uow:
        s = uow.session
        return (s.scalar(select(func.count()).select_from(ArrearsCase)) or 0,
                s.scalar(select(func.count()).select_from(ArrearsTransfer)) or 0,
                s.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def test_without_an_arrangement_the_city_does_not_accept_complaints_itself(city: Campaign) -> None:
    before = counts(city)
    with pytest.raises(InvalidInput) as exc:
        city.register()  # no intake, no transfer: a complaint the city would accept itself
    assert exc.value.field == "intake" and "arrears_acceptance_arrangement" in exc.value.rule
    assert "省级受理投诉部门受理并转交" in exc.value.rule
    with pytest.raises(InvalidInput):
        city.register(intake="arrangement")
    assert counts(city) == before  # nothing written


def test_a_provincial_transfer_goes_straight_to_the_handling_department(city: Campaign) -> None:
    c = city
    c.at(datetime(2025, 7, 1, 9))  # Tuesday
    cid = c.register(**TRANSFER)
    case = c.case(cid)
    assert (case.source, case.status) == ("province", "running")
    steps = c.open_steps(cid)
    assert set(steps) == {"handle"}  # no acceptance review, no transfer step in the city
    handle = steps["handle"]
    assert (handle.role, handle.department_code) == ("handler", "donghu")
    # Accepted 2025-06-20, under the 2025 text (第二十五条第二款): 30 days from receipt on Mon 06-30 is
    # Wed 2025-07-30; 90 days is Sun 2025-09-28, which was a working day (国庆 2025 swap), so it stands.
    data = flow_data(c, cid)
    assert (data["intake"], data["received_on"]) == ("province", "2025-06-30")
    assert (data["handling_due_on"], data["handling_ceiling_on"]) == ("2025-07-30", "2025-09-28")
    assert "第二十五条第二款" in str(data["handling_basis"])
    assert handle.due_at == utc_end_of("2025-07-30")
    with c.services.uow() as uow:
        row = uow.session.get_one(ArrearsTransfer, cid)
        assert (row.document_no, str(row.transferred_on)) == ("测试转〔2025〕7号", "2025-06-27")
        assert row.recorded_by == "bureau"
        registered = uow.session.scalars(select(AuditEvent).where(AuditEvent.kind == "arrears.register")).one()
        assert '"document_no":"测试转〔2025〕7号"' in registered.payload.replace(" ", "")
        assert audit.verify(uow.session).ok
    # the handling department goes on as before; the bureau has no step here
    with pytest.raises(NotFound):  # not in the bureau's inbox at all
        c.act(cid, "handle", "bureau", "result", amount="100000")
    c.act(cid, "handle", "handler", "result", amount="100000")
    assert "debtor_confirmation" in c.open_steps(cid)


def test_a_complaint_the_province_accepted_before_june_2025_falls_under_the_2020_text(city: Campaign) -> None:
    c = city
    c.at(datetime(2025, 6, 5, 9))
    cid = c.register(**{**TRANSFER, "complaint_accepted_on": "2025-05-28", "transferred_on": "2025-06-03",
                        "received_on": "2025-06-04"})
    data = flow_data(c, cid)
    # 2020 第十七条第二款 says only 及时: the settings' 30 / 90 days from Wed 06-04: Fri 2025-07-04, Tue 2025-09-02.
    assert (data["handling_due_on"], data["handling_ceiling_on"]) == ("2025-07-04", "2025-09-02")
    assert "第十七条第二款" in str(data["handling_basis"]) and "未规定天数" in str(data["handling_basis"])


@pytest.mark.parametrize(("change", "field"), [
    ({"transfer_document": ""}, "transfer_document"),
    ({"received_on": "2025-06-26"}, "received_on"),  # before the transfer
    ({"transferred_on": "2025-06-19"}, "transferred_on"),  # before the acceptance
    ({"received_on": "2025-07-02"}, "received_on"),  # after today
    ({"complaint_accepted_on": "2025-6-20"}, "complaint_accepted_on"),
    ({"intake": "fax"}, "intake"),
])
def test_a_wrong_transfer_is_refused_naming_the_field(city: Campaign, change: dict[str, Any], field: str) -> None:
    c = city
    c.at(datetime(2025, 7, 1, 9))
    before = counts(c)
    with pytest.raises(InvalidInput) as exc:
        c.register(**{**TRANSFER, **change})
    assert exc.value.field == field
    assert counts(c) == before


def test_a_ledger_row_is_verified_by_the_bureau_without_an_arrangement(city: Campaign) -> None:
    cid = city.register(intake="ledger")
    review = city.open_steps(cid)["acceptance_review"]
    assert review.role == "acceptance"  # the acceptance lane, where the bureau acts for the ledger
    city.to_handling(cid)
    assert "handle" in city.open_steps(cid)


def test_the_case_page_says_where_the_complaint_came_from(services: Services) -> None:
    c = build_campaign(services)  # with the test arrangement on record
    c.at(datetime(2025, 7, 1, 9))
    moved = c.register(n=1, **TRANSFER)
    own = c.register(n=2)
    ledger = c.register(n=3, intake="ledger")
    with TestClient(create_app(services), follow_redirects=False) as client:
        assert client.post("/login", data={"username": "bureau", "password": PASSWORD}).status_code == 303
        page = client.get(f"/arrears/cases/{moved}").text
        assert "投诉来源：省级受理投诉部门转办" in page
        assert "测试用：省级受理投诉部门 于 2025-06-20 受理，2025-06-27 以 测试转〔2025〕7号 转交" in page
        assert "受理投诉部门：省级以上人民政府负责中小企业促进工作综合管理的部门" in page and "第二十四条" in page
        page = client.get(f"/arrears/cases/{own}").text
        assert "投诉来源：本市依本地安排代为受理" in page and TEST_ARRANGEMENT in page and "非条例规定" in page
        page = client.get(f"/arrears/cases/{ledger}").text
        assert "专项行动台账案件，不是投诉" in page
        api = client.get(f"/api/v1/arrears/cases/{moved}").json()
    assert api["intake"] == "province" and api["transfer"]["document_no"] == "测试转〔2025〕7号"


def test_without_the_arrangement_any_more_the_bureau_cannot_decide_a_complaints_acceptance(services: Services) -> None:
    c = build_campaign(services)  # registered while the (test) arrangement was on record
    own, ledger = c.register(n=1), c.register(n=2, intake="ledger")
    services.settings = services.settings.model_copy(update={"arrears_acceptance_arrangement": ""})
    with pytest.raises(Forbidden) as exc:
        c.act(own, "acceptance_review", "bureau", "accept")
    assert "arrears_acceptance_arrangement" in exc.value.message
    assert c.case(own).status == "registered"  # nothing changed
    c.act(ledger, "acceptance_review", "bureau", "accept")  # a ledger row needs no arrangement
    assert "transfer" in c.open_steps(ledger)
