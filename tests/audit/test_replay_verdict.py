"""The verdict replay (no step views, the state compared once at the end) agrees with the step-by-step
replay: every demo case reproduces, and on an altered record it names the same first difference."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from services.audit import replay
from services.awards.demo import DemoCase
from services.bootstrap import Services
from services.db.models import WorkItem
from tests.audit.conftest import replay_of, sql


def verdict_of(services: Services, application_id: int) -> replay.ReplayResult:
    with services.uow() as uow:
        return replay.replay_case(uow, services, application_id=application_id, detail=False)


def test_every_demo_case_reproduces_with_a_verdict_only(services: Services, demo: dict[str, DemoCase]) -> None:
    for case in demo.values():
        result = verdict_of(services, case.application_id)
        assert result.reproduced, (case.application_id, result.verdict)
        assert result.steps == ()  # no views were built


@pytest.mark.parametrize("alter", [
    "UPDATE work_item SET due_at = NULL WHERE id = :i",  # a mirror row: the step that opened it
    "UPDATE application SET stage = 'forged' WHERE id = :a",  # compared after the last step
])
def test_a_difference_is_named_as_the_step_by_step_replay_names_it(services: Services, demo: dict[str, DemoCase],
                                                                   alter: str) -> None:
    app_id = demo["a"].application_id
    with services.uow() as uow:
        item = uow.session.scalars(select(WorkItem.id).where(WorkItem.application_id == app_id,
                                                             WorkItem.task_spec == "bureau_review")).one()
    sql(services, alter, i=item, a=app_id)
    detailed, verdict = replay_of(services, app_id), verdict_of(services, app_id)
    assert not detailed.reproduced and detailed.first is not None
    assert verdict.differences == detailed.differences and verdict.steps == detailed.steps
