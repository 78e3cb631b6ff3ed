"""确权 (2025 第十六条第二款; 2020 第十四条): a separate request of an SME financing a receivable; the debtor
confirms within 30 days of it (the day of the request not counted, a last rest day moved to the next
working day: 民法典 第二百零一条、第二百零三条)."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import app
from services.arrears.confirmation import answer_confirmation, request_confirmation
from services.bootstrap import Services
from services.db.models import AuditEvent
from services.db.models_arrears import ArrearsConfirmation
from services.errors import Conflict, InvalidInput
from tests.arrears.conftest import CREDITOR, DEBTORS, Campaign, build_campaign
from tests.conftest import point_env_at


@pytest.fixture
def campaign(services: Services) -> Campaign:
    return build_campaign(services)


def record(**kw: str) -> dict[str, str]:
    return {"creditor_uscc": CREDITOR, "creditor_name": "南昌测试科技有限公司", "debtor_uscc": DEBTORS["big"][0],
            "contract_no": "HT-9", "amount": "200000", "financing": "应收账款质押贷款（某商业银行）",
            "requested_on": "2024-06-03"} | kw


def request(c: Campaign, **kw: str) -> ArrearsConfirmation:
    with c.services.uow() as uow:
        row = request_confirmation(uow, c.services, record=record(**kw), actor="bureau", now=c.now())
        uow.commit()
        return row


def test_the_debtor_confirms_within_30_days_of_the_request_by_the_edition_in_force(campaign: Campaign) -> None:
    c = campaign
    # requested Mon 2024-06-03 (2020 text): 30 days end Wed 2024-07-03
    old = request(c)
    assert (old.due_on, old.due_provisional) == (date(2024, 7, 3), False)
    assert "第十四条" in old.article and "728" in old.article
    # requested Fri 2025-07-04 (2025 text): 30 days end Sun 2025-08-03, so Mon 2025-08-04
    c.at(datetime(2025, 7, 10, 9))
    new = request(c, contract_no="HT-10", requested_on="2025-07-04")
    assert new.due_on == date(2025, 8, 4) and "第十六条第二款" in new.article and "802" in new.article
    # nothing of it is a complaint: no case, no route
    assert c.open_steps(1) == {}


def test_the_answer_is_recorded_once_and_a_late_one_is_marked(campaign: Campaign) -> None:
    c = campaign
    row = request(c)
    c.at(datetime(2024, 7, 8, 9))
    with c.services.uow() as uow:
        with pytest.raises(InvalidInput) as exc:
            answer_confirmation(uow, c.services, request_id=row.id, outcome="partial", confirmed_amount="200000",
                                answered_on="2024-07-05", actor="bureau", now=c.now())
        assert exc.value.field == "confirmed_amount"
    with c.services.uow() as uow:
        answer_confirmation(uow, c.services, request_id=row.id, outcome="partial", confirmed_amount="150000",
                            answered_on="2024-07-05", actor="bureau", now=c.now())
        uow.commit()
    with c.services.uow() as uow:
        with pytest.raises(Conflict):
            answer_confirmation(uow, c.services, request_id=row.id, outcome="confirmed", confirmed_amount=None,
                                answered_on="2024-07-05", actor="bureau", now=c.now())
        stored = uow.session.get_one(ArrearsConfirmation, row.id)
        assert (stored.outcome, stored.confirmed_fen, stored.answered_on) == ("partial", 15_000_000, date(2024, 7, 5))
        [event] = uow.session.scalars(select(AuditEvent).where(AuditEvent.kind == "arrears.confirmation_answer"))
        assert '"late":true' in event.payload.replace(" ", "")  # answered 07-05, due 07-03


@pytest.mark.parametrize(("kw", "field"), [
    ({"requested_on": "2024-06-04"}, "requested_on"),  # after today (2024-06-03)
    ({"requested_on": "2020-08-31"}, "requested_on"),  # before the regulation
    ({"financing": ""}, "financing"),
    ({"amount": "-5"}, "amount"),
    ({"debtor_uscc": CREDITOR}, "debtor_uscc"),  # not a registered debtor
])
def test_a_bad_request_names_the_field_and_stores_nothing(campaign: Campaign, kw: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        request(campaign, **kw)
    assert exc.value.field == field
    with campaign.services.uow() as uow:
        assert uow.session.scalars(select(ArrearsConfirmation)).all() == []


def test_cli_request_answer_and_list(campaign: Campaign, monkeypatch: pytest.MonkeyPatch) -> None:
    point_env_at(campaign.services, monkeypatch)
    runner = CliRunner()
    args = ["arrears", "confirmation", "request", "--creditor", CREDITOR, "--creditor-name", "南昌测试科技有限公司",
            "--debtor", DEBTORS["big"][0], "--contract", "HT-9", "--amount", "200000", "--financing", "保理",
            "--requested", "2024-06-03"]
    # the CLI builds its own system clock: a request dated 2024-06-03 is in the past whenever it runs
    ok = runner.invoke(app, args)
    assert ok.exit_code == 0, ok.output
    assert "确权请求 1 已登记：债务人须于 2024年7月3日（周三）前确认（" in ok.output and "第十四条" in ok.output
    assert "南昌测试科技有限公司  合同 HT-9  请求日期 2024年6月3日（周一）  确认期限 2024年7月3日（周三）前" in \
        runner.invoke(app, ["arrears", "confirmation", "list"]).output
    bad = runner.invoke(app, ["arrears", "confirmation", "answer", "1", "--outcome", "maybe", "--answered",
                              "2024-06-10"])
    assert bad.exit_code != 0 and "处理结果" in bad.output and "Traceback" not in bad.output
    done = runner.invoke(app, ["arrears", "confirmation", "answer", "1", "--outcome", "confirmed", "--answered",
                               "2024-06-10"])
    assert done.exit_code == 0 and "确权请求 1：确认，答复日期 2024年6月10日（周一）" in done.output, done.output
    assert "没有待答复的确权请求" in runner.invoke(app, ["arrears", "confirmation", "list"]).output


def test_cli_marks_a_last_day_in_a_year_without_the_holiday_notice(campaign: Campaign,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from config.settings import get_settings

    point_env_at(campaign.services, monkeypatch)
    monkeypatch.setenv("SMEFLOW_CALENDAR_PACKAGE_THROUGH", "2026")  # 2027: its State Council notice unknown
    get_settings.cache_clear()
    runner = CliRunner()
    # requested Wed 2026-12-02: 30 days = Fri 2027-01-01, 元旦 by the 办法 (computed), then Sat and Sun:
    # Mon 2027-01-04, provisional (no 补假 or 调休 of 2027 is known)
    ok = runner.invoke(app, ["arrears", "confirmation", "request", "--creditor", CREDITOR, "--creditor-name",
                             "南昌测试科技有限公司", "--debtor", DEBTORS["big"][0], "--contract", "HT-27", "--amount",
                             "1000", "--financing", "保理", "--requested", "2026-12-02"])
    assert ok.exit_code == 0 and "须于 2027年1月4日（周一）前确认（暂定：该年节假日安排未公布）" in ok.output, ok.output
    listed = runner.invoke(app, ["arrears", "confirmation", "list"]).output
    assert "确认期限 2027年1月4日（周一）前（暂定：该年节假日安排未公布）" in listed
