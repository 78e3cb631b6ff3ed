"""`smeflow users ...` and `smeflow tokens ...`: accounts from the server's shell.

For the operator of the install (who holds the database anyway): the first admin of a new install,
a new password for a user who lost theirs, ending a user's sessions, listing and revoking API tokens.
Passwords are read from a hidden prompt (or standard input), never from the command line. Each change
is one transaction with its audit event (actor `smeflow-cli`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from app.cli_common import fail, guarded, services_from_env

users_app = typer.Typer(help="User accounts: create, set a password, end sessions", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens: list and revoke", no_args_is_help=True)
ACTOR = "smeflow-cli"


def _password() -> str:
    password = str(typer.prompt("密码", hide_input=True))
    if str(typer.prompt("再次输入密码", hide_input=True)) != password:
        fail("密码：两次输入的密码不一致")
    return password


@users_app.command("add")
def users_add(username: Annotated[str, typer.Argument(help="login name")],
              role: Annotated[str, typer.Option("--role", help="applicant, district, bureau, finance, manager, "
                                                                "auditor or admin")],
              name: Annotated[str, typer.Option("--name", help="display name")],
              unit: Annotated[str | None, typer.Option("--unit", help="review unit (district officers)")] = None,
              email: Annotated[str | None, typer.Option("--email")] = None) -> None:
    """Create a user (e.g. the first admin of an install); the password is prompted for."""
    from services.accounts import users
    from services.accounts.users import ROLE_NAMES
    from services.audit import chain as audit

    def body() -> None:
        services = services_from_env()
        password = _password()
        with services.uow() as uow:
            created = users.create_user(uow.session, hasher=services.password_hasher, username=username,
                                        display_name=name, role=role, password=password, review_unit_code=unit,
                                        email=email, allow_unbound=True)
            audit.append(uow.session, kind="user.create", actor=ACTOR, at=services.clock.now(),
                         payload={"user": created.id, "username": created.username, "role": role,
                                  "review_unit": created.review_unit_code, "enterprise": None,
                                  "unit_head": False})
            uow.commit()
        typer.echo(f"已创建用户 {username}（{ROLE_NAMES.get(role, role)}）")

    guarded(body)


@users_app.command("password")
def users_password(username: Annotated[str, typer.Argument(help="login name")]) -> None:
    """Give a user a new password (prompted for); every session of theirs ends at once."""
    from services.accounts import sessions, users
    from services.audit import chain as audit

    def body() -> None:
        services = services_from_env()
        password = _password()
        with services.uow() as uow:
            target = users.find_user(uow.session, username)
            users.set_password(target, hasher=services.password_hasher, password=password)
            ended = sessions.end_all(uow.session, target.id)
            audit.append(uow.session, kind="user.password", actor=ACTOR, at=services.clock.now(),
                         payload={"user": target.id, "username": target.username, "by": "cli",
                                  "sessions_ended": ended})
            uow.commit()
        typer.echo(f"已为用户 {username} 设置新密码；结束其登录会话 {ended} 个")

    guarded(body)


@users_app.command("sign-out")
def users_sign_out(username: Annotated[str, typer.Argument(help="login name")]) -> None:
    """End every session of a user now (their cookies stop working; API tokens are separate)."""
    from services.accounts import sessions, users

    def body() -> None:
        services = services_from_env()
        with services.uow() as uow:
            ended = sessions.end_all(uow.session, users.find_user(uow.session, username).id)
            uow.commit()
        typer.echo(f"已结束用户 {username} 的登录会话 {ended} 个")

    guarded(body)


@tokens_app.command("list")
def tokens_list(user: Annotated[str | None, typer.Option("--user", help="only this user's tokens")] = None) -> None:
    """API tokens: id, user, name, created, expires, last used, state."""
    from sqlalchemy import select

    from services.accounts import users
    from services.db.models import ApiToken, User

    def body() -> None:
        services = services_from_env()
        now = datetime.now(UTC)
        zone = ZoneInfo(services.settings.timezone)

        def local(when: datetime) -> str:
            return f"{when.astimezone(zone):%Y-%m-%d %H:%M}"

        with services.uow() as uow:
            query = select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
            if user is not None:
                query = query.where(ApiToken.user_id == users.find_user(uow.session, user).id)
            found = list(uow.session.execute(query.order_by(ApiToken.id)))
            if not found:
                typer.echo("没有 API 令牌")
            for token, owner in found:
                state = "已撤销" if token.revoked else "已过期" if token.expires_at <= now else "有效"
                used = local(token.last_used_at) if token.last_used_at else "-"
                typer.echo(f"{token.id}\t{owner}\t{token.name}\t{local(token.created_at)}\t"
                           f"{local(token.expires_at)}\t{used}\t{state}")

    guarded(body)


@tokens_app.command("revoke")
def tokens_revoke(token_id: Annotated[int, typer.Argument(help="token id (from `smeflow tokens list`)")]) -> None:
    """Revoke an API token now."""
    from services.db.models import ApiToken
    from services.errors import NotFound

    def body() -> None:
        services = services_from_env()
        with services.uow() as uow:
            row = uow.session.get(ApiToken, token_id)
            if row is None:
                raise NotFound(f"API 令牌 {token_id} 不存在")
            row.revoked = True
            uow.commit()
        typer.echo(f"已撤销 API 令牌 {token_id}")

    guarded(body)
