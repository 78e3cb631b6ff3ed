"""No pre-ping on the hot path: a pooled connection the server dropped meanwhile is found by the first
statement of the next transaction, replaced, and the statement run again; the step goes through."""

from __future__ import annotations

from sqlalchemy import text

from services.audit import chain as audit
from services.awards.demo import Demo
from services.bootstrap import Services
from services.db.session import make_engine
from tests.conftest import requires_postgres
from tests.helpers import act, apply_for, open_item

pytestmark = requires_postgres()


def test_a_step_on_a_dropped_connection_is_retried_once_and_succeeds(services: Services) -> None:
    Demo(services, echo=False).load()
    app_id = apply_for(services, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)
    item = open_item(services, app_id)
    services.db.dispose()
    with services.uow() as uow:  # the pool's only connection, returned to the pool after
        pid = uow.session.scalar(text("SELECT pg_backend_pid()"))
    admin = make_engine(services.settings.database_url)
    with admin.begin() as conn:  # as a server restart or an idle timeout would
        assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()

    act(services, app_id, "district-donghu", "approve", item_id=item.id)
    assert open_item(services, app_id).task_spec == "bureau_review"
    with services.uow() as uow:
        assert uow.session.scalar(text("SELECT pg_backend_pid()")) != pid
        assert audit.verify(uow.session).ok
