"""A diagram changed after a case started: the case still replays on the version it ran on."""

from __future__ import annotations

from services.awards import routes
from services.awards.demo import Demo
from services.bootstrap import Services
from tests.audit.conftest import replay_of
from tests.helpers import act, apply_for

V1 = "award_enterprise_honour.bpmn"


def _install_v2(services: Services) -> str:
    """v2: the district check gets the bureau review's (longer) time limit, and a renamed bureau review."""
    docs = dict(routes.bundled_documents()[V1])
    xml = docs[V1]
    changed = (xml.replace(b'stage_deadline("district_check")', b'stage_deadline("bureau_review")')
               .replace("市中小企业局复审".encode(), "市局复审（新版）".encode()))
    assert changed != xml
    docs[V1] = changed
    with services.uow() as uow:
        row = routes.install(uow.session, services.engine, docs, source_name="v2", now=services.clock.now())
        uow.commit()
        return row.hash


def test_a_case_replays_on_its_own_version_after_the_diagram_changed(services: Services) -> None:
    Demo(services, echo=False).load()
    old = apply_for(services, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)
    v2 = _install_v2(services)
    new = apply_for(services, "江西赣江新材料科技有限公司", "m2-srdi-sme-province", 60_000_00)
    act(services, old, "district-donghu", "approve")
    act(services, new, "district-xihu", "approve")
    act(services, old, "bureau", "approve", amount_fen=200_000_00)
    r_old, r_new = replay_of(services, old), replay_of(services, new)
    assert r_old.reproduced, r_old.differences
    assert r_new.reproduced, r_new.differences
    assert r_new.definition_hash == v2 and r_old.definition_hash != v2
    # each ran with its own version's rules: the district check's time limit differs
    old_due = r_old.step(1).timers[0].due_at
    new_due = r_new.step(1).timers[0].due_at
    assert r_old.step(1).timers[0].spec == r_new.step(1).timers[0].spec == "district_check_deadline"
    assert (new_due - r_new.step(1).at) > (old_due - r_old.step(1).at)
    assert [t.name for t in r_new.steps[-1].open_tasks] == ["市局复审（新版）"]
    assert [t.name for t in r_old.step(2).open_tasks] == ["市中小企业局复审"]
