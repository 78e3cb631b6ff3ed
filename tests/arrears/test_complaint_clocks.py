"""The clocks of a complaint follow the edition in force when it was accepted (issue 14 item 5), and the
debtor's reply to a handling result is a setting, not the 确权 period (item 2).

2025 第二十五条 (in force 2025-06-01): a written result within 30 days of receiving the materials,
extended with approval to at most 90. 2020 第十七条: handle promptly (及时), no number of days, so the
campaign's settings apply and the case says so. Calendar days, the last day rolled past rest days
(民法典 第二百零三条).
"""

from __future__ import annotations

from datetime import datetime

import pytest

from services.bootstrap import Services
from services.errors import InvalidInput
from tests.arrears.conftest import Campaign, build_campaign
from tests.arrears.test_route import flow_data, utc_end_of


@pytest.fixture
def campaign20(services: Services) -> Campaign:
    """The campaign with its own limits for pre-2025 complaints set to 20 / 40 days and the reply to 15."""
    settings = services.settings.model_copy(update={
        "arrears_handling_days_without_statute": 20, "arrears_handling_max_days_without_statute": 40,
        "arrears_debtor_reply_days": 15})
    return build_campaign(Services(settings=settings, clock=services.clock))


def test_a_complaint_accepted_in_2024_has_no_statutory_figure_and_uses_the_setting(campaign20: Campaign) -> None:
    c = campaign20
    cid = c.register()
    c.to_handling(cid)  # accepted and received on Mon 2024-06-03
    data = flow_data(c, cid)
    # 20 days: Sun 2024-06-23 -> Mon 06-24; 40 days: Sat 2024-07-13 -> Mon 07-15.
    assert (data["handling_due_on"], data["handling_ceiling_on"]) == ("2024-06-24", "2024-07-15")
    assert "第十七条" in str(data["handling_basis"]) and "未规定天数" in str(data["handling_basis"])
    assert c.open_steps(cid)["handle"].due_at == utc_end_of("2024-06-24")
    with pytest.raises(InvalidInput) as exc:
        c.act(cid, "handle", "handler", "extend", reason="需调取工程结算资料", extension_until="2024-07-16")
    assert exc.value.field == "extension_until"
    assert "40 日" in exc.value.rule and "arrears_handling_max_days_without_statute" in exc.value.rule


def test_a_complaint_accepted_in_2025_gets_the_30_and_90_days_of_article_25(campaign20: Campaign) -> None:
    c = campaign20
    c.at(datetime(2025, 7, 1, 9))  # Tuesday
    cid = c.register()
    c.to_handling(cid)
    data = flow_data(c, cid)
    # 30 days: Thu 2025-07-31; 90 days: Mon 2025-09-29.
    assert (data["handling_due_on"], data["handling_ceiling_on"]) == ("2025-07-31", "2025-09-29")
    assert "第二十五条" in str(data["handling_basis"]) and "802" in str(data["handling_basis"])
    with pytest.raises(InvalidInput) as exc:
        c.act(cid, "handle", "handler", "extend", reason="需调取工程结算资料", extension_until="2025-09-30")
    assert "90 日" in exc.value.rule and "第二十五条" in exc.value.rule


def test_the_acceptance_date_not_the_transfer_date_chooses_the_edition(campaign20: Campaign) -> None:
    c = campaign20
    c.at(datetime(2025, 5, 30, 9))  # Friday: accepted under the 2020 text
    cid = c.register()
    c.act(cid, "acceptance_review", "bureau", "accept")
    c.at(datetime(2025, 6, 3, 9))  # Tuesday: received by the handling department under the 2025 text
    c.act(cid, "transfer", "bureau", "transfer")
    # the setting's 20 days from 06-03: Mon 2025-06-23 (the 2025 text would give Thu 07-03)
    assert flow_data(c, cid)["handling_due_on"] == "2025-06-23"


def test_the_debtor_reply_period_is_the_setting_not_the_30_days_of_confirmation(campaign20: Campaign) -> None:
    c = campaign20
    cid = c.register()
    c.to_handling(cid)
    c.act(cid, "handle", "handler", "result", amount="100000")  # Mon 2024-06-03
    # 15 days: Tue 2024-06-18 (not 30 days, which 第十六条第二款 gives only to 确权 requests)
    assert c.open_steps(cid)["debtor_confirmation"].due_at == utc_end_of("2024-06-18")
