"""The city SME bureau's own measures on a case (2025 第二十三条), recorded outside the complaint route."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import app
from app.web import create_app
from services.arrears.oversight import record_measure
from services.bootstrap import Services
from services.db.models import AuditEvent
from services.db.models_arrears import ArrearsOversight
from services.errors import Forbidden, InvalidInput
from tests.arrears.conftest import PASSWORD, Campaign, build_campaign
from tests.conftest import point_env_at


@pytest.fixture
def campaign(services: Services) -> Campaign:
    return build_campaign(services)


def measure(c: Campaign, case_id: int, actor: str = "bureau", **kw: str) -> None:
    args = {"kind": "inquiry", "document_no": "洪中小企函〔2024〕3号", "reason": "了解拖欠原因"} | kw
    with c.services.uow() as uow:
        record_measure(uow, c.services, case_id=case_id, actor=actor, now=c.now(), **args)
        uow.commit()


def test_the_bureau_records_a_measure_with_its_audit_event_and_the_page_shows_it(campaign: Campaign) -> None:
    c = campaign
    cid = c.register()
    c.to_handling(cid)
    measure(c, cid)
    measure(c, cid, kind="summons", document_no="约谈记录〔2024〕1号", reason="函询后未答复")
    with c.services.uow() as uow:
        rows = uow.session.scalars(select(ArrearsOversight).order_by(ArrearsOversight.id)).all()
        events = uow.session.scalars(select(AuditEvent).where(AuditEvent.kind == "arrears.oversight")).all()
    assert [(r.kind, r.document_no, str(r.acted_on)) for r in rows] == [
        ("inquiry", "洪中小企函〔2024〕3号", "2024-06-03"), ("summons", "约谈记录〔2024〕1号", "2024-06-03")]
    assert len(events) == 2 and events[0].instance_id == c.case(cid).instance_id
    assert "第二十三条" in events[0].payload
    # the route is untouched: the handling department still has its step
    assert set(c.open_steps(cid)) == {"handle"}
    with TestClient(create_app(c.services), follow_redirects=False) as client:
        assert client.post("/login", data={"username": "bureau", "password": PASSWORD}).status_code == 303
        page = client.get(f"/arrears/cases/{cid}").text
    assert "督促措施（条例第二十三条）" in page and "函询（洪中小企函〔2024〕3号）：了解拖欠原因" in page
    assert "inquiry" not in page


@pytest.mark.parametrize(("actor", "kw", "error", "field"), [
    ("handler", {}, Forbidden, None),
    ("bureau", {"kind": "fine"}, InvalidInput, "kind"),
    ("bureau", {"reason": "  "}, InvalidInput, "reason"),
    ("bureau", {"document_no": ""}, InvalidInput, "document_no"),
])
def test_a_bad_measure_is_refused_and_nothing_is_stored(campaign: Campaign, actor: str, kw: dict[str, str],
                                                        error: type[Exception], field: str | None) -> None:
    cid = campaign.register()
    with pytest.raises(error) as exc:
        measure(campaign, cid, actor=actor, **kw)
    if field:
        assert getattr(exc.value, "field", None) == field
    with campaign.services.uow() as uow:
        assert uow.session.scalars(select(ArrearsOversight)).all() == []
        assert uow.session.scalars(select(AuditEvent).where(AuditEvent.kind == "arrears.oversight")).all() == []


def test_cli_records_a_measure_and_refuses_a_bad_one_in_one_line(campaign: Campaign,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    cid = campaign.register()
    point_env_at(campaign.services, monkeypatch)
    ok = CliRunner().invoke(app, ["arrears", "oversee", str(cid), "--kind", "supervision",
                                  "--document-no", "督〔2024〕5号", "--reason", "逾期未付"])
    assert ok.exit_code == 0 and f"案件 {cid}：已记录督办 督〔2024〕5号（" in ok.output, ok.output
    bad = CliRunner().invoke(app, ["arrears", "oversee", str(cid), "--kind", "fine", "--document-no", "x",
                                   "--reason", "y"])
    assert bad.exit_code != 0 and "类型" in bad.output and "Traceback" not in bad.output
