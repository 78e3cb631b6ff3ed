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

users_app = typer.Typer(help="用户账号：创建、设置密码、结束登录会话", no_args_is_help=True)
tokens_app = typer.Typer(help="API 令牌：列出与撤销", no_args_is_help=True)
ACTOR = "smeflow-cli"


def _password() -> str:
    password = str(typer.prompt("密码", hide_input=True))
    if str(typer.prompt("再次输入密码", hide_input=True)) != password:
        fail("密码：两次输入的密码不一致")
    return password


@users_app.command("add", help="创建用户（例如新装系统的第一位系统管理员）；密码在提示时输入")
def users_add(username: Annotated[str, typer.Argument(help="登录用户名")],
              role: Annotated[str, typer.Option("--role", help="角色：applicant 申报单位、"
                                                                "district 区县经办人、bureau 市中小企业局、"
                                                                "finance 市财政局、manager 管理人员、"
                                                                "auditor 审计员或 admin 系统管理员")],
              name: Annotated[str, typer.Option("--name", help="姓名（显示名）")],
              unit: Annotated[str | None, typer.Option("--unit", help="审核单位代码（区县经办人）")] = None,
              email: Annotated[str | None, typer.Option("--email", help="电子邮箱")] = None) -> None:
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


@users_app.command("password", help="为用户设置新密码（提示输入）；其所有登录会话立即结束")
def users_password(username: Annotated[str, typer.Argument(help="登录用户名")]) -> None:
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


@users_app.command("sign-out", help="立即结束某用户的所有登录会话（其浏览器登录失效；API 令牌另行撤销）")
def users_sign_out(username: Annotated[str, typer.Argument(help="登录用户名")]) -> None:
    """End every session of a user now (their cookies stop working; API tokens are separate)."""
    from services.accounts import sessions, users

    def body() -> None:
        services = services_from_env()
        with services.uow() as uow:
            ended = sessions.end_all(uow.session, users.find_user(uow.session, username).id)
            uow.commit()
        typer.echo(f"已结束用户 {username} 的登录会话 {ended} 个")

    guarded(body)


@tokens_app.command("list", help="API 令牌：编号、用户、名称、创建时间、到期时间、最近使用、状态")
def tokens_list(user: Annotated[str | None, typer.Option("--user", help="只列此用户的令牌")] = None) -> None:
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


@tokens_app.command("revoke", help="立即撤销一个 API 令牌")
def tokens_revoke(token_id: Annotated[int, typer.Argument(help="令牌编号（见 `smeflow tokens list`）")]) -> None:
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
