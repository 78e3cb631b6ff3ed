"""A saved state is byte for byte what SpiffWorkflow's own serializer writes, although the diagram
part is converted once per definition: at every step of a case (start, decisions, a timer, the end),
for a workflow restored from its state, and for two cases on one diagram."""

from __future__ import annotations

from sqlalchemy import select

from services.awards.demo import Demo
from services.bootstrap import Services
from services.db.models import Application, ProcessInstance
from tests.helpers import act, apply_for, pass_public_notice


def _check(services: Services, app_id: int) -> int:
    """The stored state equals the reference serializer's bytes of the workflow it was saved from."""
    with services.uow() as uow:
        inst_id = uow.session.scalars(select(Application.instance_id).where(Application.id == app_id)).one()
        assert inst_id is not None
        version, state = uow.session.execute(select(ProcessInstance.version, ProcessInstance.state).where(
            ProcessInstance.id == inst_id)).one()
    cached = services.runtime.cached(inst_id)
    assert cached is not None and cached[0] == version
    engine = services.engine
    assert state == engine.dumps_reference(cached[1])
    restored = engine.loads(state)
    assert engine.dumps(restored) == engine.dumps_reference(restored) == state
    return version


def test_saved_state_is_the_serializers_bytes_at_every_step(services: Services) -> None:
    Demo(services, echo=False).load()
    first = apply_for(services, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)
    second = apply_for(services, "江西赣江新材料科技有限公司", "m2-srdi-sme-province", 50_000_00)
    versions = [_check(services, first), _check(services, second)]
    act(services, first, "district-donghu", "return", reason="请补充材料")
    versions.append(_check(services, first))
    act(services, first, "applicant-a", "resubmit")
    act(services, first, "district-donghu", "approve")
    act(services, first, "bureau", "approve", amount_fen=300_000_00)
    versions.append(_check(services, first))
    pass_public_notice(services)  # the notice timer fires
    versions.append(_check(services, first))
    act(services, first, "finance", "pay", reference="P-1")  # the case ends
    versions.append(_check(services, first))
    assert versions == [1, 1, 2, 5, 6, 7]
    # the second case, kept in the cache meanwhile (its completed tasks' JSON too), returned twice and
    # then refused by the bureau
    act(services, second, "district-xihu", "return", reason="请补充材料")
    act(services, second, "applicant-b", "resubmit")
    act(services, second, "district-xihu", "return", reason="仍缺材料")
    assert _check(services, second) == 5  # its district deadline passed during the first case's notice: a timer step
    act(services, second, "applicant-b", "resubmit")
    act(services, second, "district-xihu", "approve")
    act(services, second, "bureau", "reject", reason="不符合条件")
    assert _check(services, second) == 8
