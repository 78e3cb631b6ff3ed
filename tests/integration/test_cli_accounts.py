"""`smeflow users` and `smeflow tokens`: the first admin of an install, a new password that ends the
user's sessions, signing a user out, listing and revoking tokens (issue 12 item 5)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from app.cli import app as cli_app
from app.web import create_app
from services.accounts import sessions, users
from services.bootstrap import Services
from services.db.models import AuditEvent, UserSession


def test_users_and_tokens_from_the_shell(services_env: Services) -> None:
    cli = CliRunner()
    weak = cli.invoke(cli_app, ["users", "add", "chief", "--role", "admin", "--name", "管理员"],
                      input="password\npassword\n")
    assert weak.exit_code == 1 and "常见密码" in weak.output
    made = cli.invoke(cli_app, ["users", "add", "chief", "--role", "admin", "--name", "管理员"],
                      input="Bayi-square-1927\nBayi-square-1927\n")
    assert made.exit_code == 0, made.output
    assert "已创建用户 chief（系统管理员）" in made.output
    typo = cli.invoke(cli_app, ["users", "add", "typo", "--role", "admin", "--name", "x"],
                      input="Bayi-square-1927\nBayi-square-1928\n")
    assert typo.exit_code == 1 and "密码：两次输入的密码不一致" in typo.output
    with TestClient(create_app(services_env), follow_redirects=False) as web:
        assert web.post("/login", data={"username": "chief", "password": "Bayi-square-1927"}).status_code == 303
        assert web.get("/admin").status_code == 200
        issued = web.post("/api/v1/tokens", json={"username": "chief", "password": "Bayi-square-1927"}).json()
        reset = cli.invoke(cli_app, ["users", "password", "chief"], input="Tengwang-ge-659\nTengwang-ge-659\n")
        assert reset.exit_code == 0 and "已为用户 chief 设置新密码；结束其登录会话 1 个" in reset.output
        assert web.get("/admin").status_code == 303  # the browser's session ended
        listed = cli.invoke(cli_app, ["tokens", "list", "--user", "chief"])
        assert listed.exit_code == 0 and f"{issued['id']}\tchief\tapi\t" in listed.output
        assert listed.output.rstrip().endswith("有效")
        assert cli.invoke(cli_app, ["tokens", "revoke", str(issued["id"])]).exit_code == 0
        assert web.get("/api/v1/me", headers={"Authorization": f"Bearer {issued['token']}"}).status_code == 401
        assert cli.invoke(cli_app, ["tokens", "list"]).output.rstrip().endswith("已撤销")
    with services_env.uow() as uow:
        chief = users.find_user(uow.session, "chief")
        sessions.start(uow.session, user=chief, now=datetime.now(UTC), hours=1)
        uow.commit()
    out = cli.invoke(cli_app, ["users", "sign-out", "chief"])
    assert out.exit_code == 0 and "已结束用户 chief 的登录会话 1 个" in out.output
    with services_env.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(UserSession)) == 0
        kinds = list(uow.session.scalars(select(AuditEvent.kind).where(AuditEvent.actor == "smeflow-cli")))
        assert kinds == ["user.create", "user.password"]
    unknown = cli.invoke(cli_app, ["users", "password", "nobody"], input="Tengwang-ge-659\nTengwang-ge-659\n")
    assert unknown.exit_code == 1 and "nobody" in unknown.output
