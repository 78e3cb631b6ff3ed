"""The running engine evaluates every diagram expression through the restricted evaluator, not only
the upload check: a hostile expression written straight into the database (bypassing the upload
and its validation) is refused when a case reaches it, and nothing of it runs.

Kills issue 16, table row 1: "the running engine uses SpiffWorkflow's unrestricted evaluator
instead of the restricted one (services/engine/runtime.py)".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select, text, update

from config.settings import Settings
from services.awards.demo import Demo
from services.bootstrap import Services, build
from services.db.models import AuditEvent, ProcessDefinition, ProcessInstance
from services.engine.runtime import content_hash
from services.engine.validate import DiagramInvalid
from services.errors import EngineFailure
from services.time.clock import ManualClock
from tests.conftest import START
from tests.helpers import act, application, apply_for, open_item, snapshot

DISTRICT_APPROVES = 'decision == "approve"'


def hostile(marker: Path) -> str:
    """A condition that writes `marker` if it is ever evaluated with Python's builtins."""
    return f'__import__("pathlib").Path("{marker}").write_text("pwned") > 0 and decision == "approve"'


def _replace(node: Any, old: str, new: str) -> tuple[Any, int]:
    """`node` (decoded JSON) with every string equal to `old` replaced by `new`; and how many were."""
    if isinstance(node, str):
        return (new, 1) if node == old else (node, 0)
    if isinstance(node, list):
        done = [_replace(v, old, new) for v in node]
        return [v for v, _ in done], sum(n for _, n in done)
    if isinstance(node, dict):
        pairs = {k: _replace(v, old, new) for k, v in node.items()}
        return {k: v for k, (v, _) in pairs.items()}, sum(n for _, n in pairs.values())
    return node, 0


def fresh_process(services: Services) -> Services:
    """Another process on the same database: nothing cached, every workflow restored from its row."""
    settings = Settings(database_url=services.settings.database_url, environment="test",
                        data_dir=services.settings.data_dir, argon2_time_cost=1, argon2_memory_kib=64)
    return build(settings, clock=ManualClock(services.clock.now()))


def audit_count(services: Services) -> int:
    with services.uow() as uow:
        return len(uow.session.scalars(select(AuditEvent.seq)).all())


@pytest.fixture
def demo(services: Services) -> Services:
    Demo(services, echo=False).load()
    return services


@pytest.fixture
def case(demo: Services) -> tuple[Services, int]:
    return demo, apply_for(demo, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)


# kills table row 1 (unrestricted evaluator in the running engine)
def test_hostile_condition_in_a_running_case_state_is_refused_when_reached(case: tuple[Services, int],
                                                                           tmp_path: Path) -> None:
    services, app_id = case
    marker = tmp_path / "pwned.txt"
    item = open_item(services, app_id)
    with services.uow() as uow:  # the serialized case carries its whole diagram: rewrite its condition
        inst = uow.session.get_one(ProcessInstance, item.instance_id)
        state, replaced = _replace(orjson.loads(inst.state), DISTRICT_APPROVES, hostile(marker))
        version = inst.version
    assert replaced >= 1, "the district gateway's condition is in the stored state"
    with services.db.begin() as conn:
        conn.execute(update(ProcessInstance).where(ProcessInstance.id == item.instance_id)
                     .values(state=orjson.dumps(state)))
    events = audit_count(services)

    other = fresh_process(services)
    try:
        with pytest.raises(EngineFailure, match="不允许"):
            act(other, app_id, "district-donghu", "approve")
        assert not marker.exists(), "the hostile expression ran"
        # nothing was stored: the district check is still open, the case where it was, no audit event
        still = open_item(other, app_id)
        assert (still.id, still.task_spec, still.status) == (item.id, "district_check", "open")
        assert application(other, app_id).stage == application(services, app_id).stage
        assert audit_count(other) == events
        with other.uow() as uow:
            assert uow.session.get_one(ProcessInstance, item.instance_id).version == version
    finally:
        other.db.dispose()


# also row 1, at the other door: a stored definition row is parsed (and checked) again before use
def test_hostile_condition_in_a_stored_definition_is_refused_when_a_case_starts(demo: Services,
                                                                                tmp_path: Path) -> None:
    services = demo
    marker = tmp_path / "pwned.txt"
    with services.uow() as uow:
        row = uow.session.scalars(select(ProcessDefinition).where(
            ProcessDefinition.process_id == "award_enterprise_honour", ProcessDefinition.current.is_(True))).one()
        xml = row.bpmn_xml.decode()
        dmn = list(row.dmn_xml)
    escaped = hostile(marker).replace('"', "&quot;")
    assert DISTRICT_APPROVES in xml
    bad = xml.replace(f">{DISTRICT_APPROVES}<", f">{escaped}<").encode()
    assert bad != xml.encode()
    docs = {"award_enterprise_honour.bpmn": bad}
    docs.update({f"award_enterprise_honour-{i}.dmn": d.encode() for i, d in enumerate(dmn)})
    digest = content_hash(docs)
    with services.db.begin() as conn:  # written straight into the table, as if the upload were bypassed
        conn.execute(text("UPDATE process_definition SET current = :f WHERE process_id = 'award_enterprise_honour'"),
                     {"f": False})
        conn.execute(ProcessDefinition.__table__.insert().values(
            hash=digest, process_id="award_enterprise_honour", source_name="forged.bpmn", bpmn_xml=bad,
            dmn_xml=dmn, created_at=START, current=True))
    before = snapshot(services)
    other = fresh_process(services)
    try:
        with pytest.raises(DiagramInvalid, match="__import__"):
            apply_for(other, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)
        assert not marker.exists()
        assert snapshot(other) == before  # nothing stored: no application, instance, work item or event
    finally:
        other.db.dispose()
