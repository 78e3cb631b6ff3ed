"""The worker's flows run on the demo clock: the deadline sweep flow, run for real, fires a public
notice's timer only once the demo clock has passed it (on the real clock it would have fired long ago)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from services.accounts.users import get_user
from services.awards import demo_clock
from services.bootstrap import Services
from services.time.clock import DemoClock
from tests.democlock import demo_on_its_clock, newcomer_to_public_notice, stage
from workflows.flows import deadline_sweep


def test_sweep_flow_uses_the_demo_clock(flow_env: Services) -> None:
    demo = demo_on_its_clock(flow_env)
    app_id = newcomer_to_public_notice(demo)
    assert asyncio.run(deadline_sweep())["fired"] == 0  # 2025-06-16 on the demo clock: the notice runs
    assert stage(demo, app_id) == "public_notice"

    clock = demo.clock
    assert isinstance(clock, DemoClock)
    with demo.uow() as uow:
        due = demo_clock.next_due(uow.session, clock.now())
        assert due is not None
        demo_clock.move(uow.session, user=get_user(uow.session, "admin"), to=due + timedelta(minutes=1),
                        current=clock.now(), wall=clock.wall_now())
        uow.commit()
    assert asyncio.run(deadline_sweep())["fired"] == 1
    assert stage(demo, app_id) == "finance_payout"
    demo.db.dispose()
