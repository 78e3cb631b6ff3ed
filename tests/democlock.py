"""The demo on its own clock, for tests: the demo data, the 2025 round and the stored demo clock
(2025-06-16 10:00), a service wired the way every entry point wires it in development and test
(bootstrap.build without a clock), and the newcomer's case walked to the public notice."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from config.settings import Settings
from services.accounts.users import get_user
from services.awards import applications, tasks
from services.awards.claims import local_today
from services.awards.demo import Demo
from services.awards.tasks import Decision
from services.bootstrap import Services, build
from services.db.models import Call, Honour, WorkItem


def demo_on_its_clock(services: Services) -> Services:
    """Load the demo into `services`' database, set the demo clock; a service that reads it."""
    demo = Demo(services, echo=False)
    demo.load()
    demo.prepare_today()
    s = services.settings
    return build(Settings(database_url=s.database_url, environment="test", data_dir=s.data_dir,
                          argon2_time_cost=1, argon2_memory_kib=64))


def newcomer_to_public_notice(services: Services) -> int:
    """applicant-g applies in the 2025 call; district and bureau approve: the public notice runs."""
    with services.uow() as uow:
        user = get_user(uow.session, "applicant-g")
        honour = uow.session.scalars(select(Honour).where(Honour.enterprise_id == user.enterprise_id)).one()
        call = uow.session.scalars(select(Call).where(Call.title.like("2025%"))).one()
        app = applications.apply(uow, services, call_id=call.id, enterprise_id=user.enterprise_id or 0,
                                 award_type_code="m2-srdi-sme-province", honour_id=honour.id,
                                 requested_fen=60_000_00, description="演示", actor="applicant-g",
                                 now=services.clock.now(), today=local_today(services))
        uow.commit()
        app_id = app.id
    for username, decision in (("district-donghu", Decision("approve")),
                               ("bureau", Decision("approve", amount_fen=60_000_00))):
        with services.uow() as uow:
            item = uow.session.scalars(select(WorkItem).where(WorkItem.application_id == app_id,
                                                              WorkItem.status == "open")).one()
            tasks.complete(uow, services, item_id=item.id, username=username, decision=decision,
                           now=services.clock.now() + timedelta(seconds=1))
            uow.commit()
    return app_id


def stage(services: Services, app_id: int) -> str:
    with services.uow() as uow:
        item = uow.session.scalars(select(WorkItem).where(WorkItem.application_id == app_id,
                                                          WorkItem.status == "open")).one()
        return item.task_spec
