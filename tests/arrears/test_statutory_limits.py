"""A campaign time limit set above the statute is refused where a case is registered (the service,
the ledger import and the CLI), with the setting and the statutory figure named, and nothing stored.

The statutory working days, by hand (config/arrears.toml, 保障中小企业款项支付条例): the acceptance
review 10 working days, the transfer to the handling department 10 more.

Kills issue 16, table row 6: "arrears registration skips the statutory-limit check
(services/arrears/intake.py)".
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from app.cli import app
from config.settings import Settings, get_settings
from services.arrears import intake
from services.arrears.ledger_import import import_ledger
from services.bootstrap import Services, build
from services.time.clock import ManualClock
from tests.arrears.conftest import CREDITOR, DEBTORS, TEST_ARRANGEMENT, Campaign
from tests.arrears.test_import import GOOD, csv_of
from tests.helpers import snapshot

STATUTORY = {"arrears_acceptance": 10, "arrears_transfer": 10}
RECORD = {"creditor_uscc": CREDITOR, "creditor_name": "南昌测试科技有限公司", "debtor_uscc": DEBTORS["gov"][0],
          "contract_no": "HT-LIMIT", "signed_on": "2024-01-10", "delivered_on": "2024-03-01", "amount": "100000.00"}


def with_limit(services: Services, stage: str, days: int) -> Services:
    """The same database, run with `stage` set to `days` working days."""
    settings = Settings(database_url=services.settings.database_url, environment="test",
                        data_dir=services.settings.data_dir, argon2_time_cost=1, argon2_memory_kib=64,
                        stage_limits={stage: days}, arrears_acceptance_arrangement=TEST_ARRANGEMENT)
    return build(settings, clock=ManualClock(services.clock.now()))


def message(stage: str) -> str:
    return f"stage_limits.{stage} = {STATUTORY[stage] + 1} exceeds the statutory {STATUTORY[stage]} working days"


# kills table row 6 (registration skips the statutory-limit check)
@pytest.mark.parametrize("stage", sorted(STATUTORY))
def test_a_limit_above_the_statute_is_refused_at_registration(campaign: Campaign, stage: str) -> None:
    before = snapshot(campaign.services)
    over = with_limit(campaign.services, stage, STATUTORY[stage] + 1)
    try:
        with pytest.raises(ValueError, match=message(stage)), over.uow() as uow:
            intake.register(uow, over, record=RECORD, actor="bureau", now=over.clock.now())
            uow.commit()
        with pytest.raises(ValueError, match=message(stage)), over.uow() as uow:
            import_ledger(uow, over, content=csv_of(*GOOD), filename="ledger.csv", actor="bureau",
                          now=over.clock.now())
            uow.commit()
    finally:
        over.db.dispose()
    assert snapshot(campaign.services) == before


@pytest.mark.parametrize("stage", sorted(STATUTORY))
def test_the_statutory_limit_itself_is_accepted(campaign: Campaign, stage: str) -> None:
    at_limit = with_limit(campaign.services, stage, STATUTORY[stage])
    try:
        with at_limit.uow() as uow:
            case = intake.register(uow, at_limit, record=RECORD, actor="bureau", now=at_limit.clock.now())
            uow.commit()
        assert case.id
    finally:
        at_limit.db.dispose()


# row 6 too, through the command line: one line naming the setting, exit 1, nothing stored
@pytest.mark.parametrize("stage", sorted(STATUTORY))
def test_cli_register_refuses_a_limit_above_the_statute(campaign: Campaign, services_env: Services,
                                                        monkeypatch: pytest.MonkeyPatch, stage: str) -> None:
    monkeypatch.setenv(f"SMEFLOW_STAGE_LIMITS__{stage.upper()}", str(STATUTORY[stage] + 1))
    get_settings.cache_clear()
    before = snapshot(services_env)
    result = CliRunner().invoke(app, [
        "arrears", "register", "--creditor", CREDITOR, "--creditor-name", "南昌测试科技有限公司",
        "--debtor", DEBTORS["gov"][0], "--contract", "HT-CLI", "--signed", "2024-01-10",
        "--delivered", "2024-03-01", "--amount", "100000"])
    assert result.exit_code == 1, result.output
    assert message(stage) in result.output and "Traceback" not in result.output
    assert snapshot(services_env) == before
