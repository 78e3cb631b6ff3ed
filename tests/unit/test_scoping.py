"""Scoping: a user whose role is none of the known ones sees no case at all, and a case outside a
user's scope is NotFound naming only the id asked for.

Kills the NotFound-message survivor of `make mutants` in services/accounts/access.py; its other
survivor, `where(false())` turned into `where(None)`, is equivalent (WHERE NULL selects nothing too)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from services.accounts.access import scope_applications, visible_application
from services.awards.demo import Demo
from services.bootstrap import Services
from services.db.models import Application, User
from services.errors import NotFound
from tests.helpers import apply_for


def test_an_unknown_role_sees_no_case(services: Services) -> None:
    Demo(services, echo=False).load()
    app_id = apply_for(services, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)
    stranger = User(username="stranger", display_name="x", role="contractor", password_hash="-")
    bureau = User(username="b", display_name="x", role="bureau", password_hash="-")
    with services.uow() as uow:
        assert uow.session.scalars(scope_applications(select(Application.id), bureau)).all() == [app_id]
        assert uow.session.scalars(scope_applications(select(Application.id), stranger)).all() == []
        with pytest.raises(NotFound, match=f"^案件 #{app_id} 不存在$"):
            visible_application(uow.session, stranger, app_id)


def test_a_refused_role_is_told_which_roles_may_act_by_their_chinese_names() -> None:
    """Kills the `make mutants` survivor of `require_role` that raised Forbidden without its message."""
    from services.accounts.access import require_role
    from services.errors import Forbidden

    auditor = User(username="a", display_name="x", role="auditor", password_hash="-")
    with pytest.raises(Forbidden) as caught:
        require_role(auditor, "bureau", "finance")
    assert str(caught.value) == "此操作只有市中小企业局、市财政局可以进行"
    require_role(auditor, "auditor")  # one of the roles: allowed
