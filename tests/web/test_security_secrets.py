"""Issue 12, items 1 and 12, against a real `smeflow serve`: no session can be forged with a public
secret (a random one is generated per install), weak secrets and the demo are refused outside
development/test, the session cookie is always Secure in production, and X-Forwarded-* headers are
trusted only from the proxies the setting names."""

from __future__ import annotations

import stat
from http.cookies import SimpleCookie
from pathlib import Path

import httpx
import pytest
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import app as cli_app
from config.settings import DEV_SECRET_KEY, get_settings
from services.awards.demo import DEMO_PASSWORD
from services.bootstrap import Services
from services.db.models import User
from tests.web.served import refused_start, serve_env, served

STRONG = "s" * 40
AUDIT = "k" * 40


def _user_id(world: Services, username: str) -> int:
    with world.uow() as uow:
        found = uow.session.scalar(select(User.id).where(User.username == username))
        assert found is not None
        return found


def _login(base: str, username: str, password: str, **headers: str) -> httpx.Response:
    return httpx.post(f"{base}/login", data={"username": username, "password": password}, headers=headers,
                      follow_redirects=False, timeout=30)


def _session_cookie(response: httpx.Response) -> SimpleCookie:
    cookie = SimpleCookie()
    cookie.load(response.headers["set-cookie"])
    return cookie


def test_a_cookie_signed_with_the_public_secret_is_no_session(world: Services, tmp_path: Path) -> None:
    data_dir = tmp_path / "install"
    env = serve_env(world.settings.database_url, data_dir, environment="development")
    forged = URLSafeTimedSerializer(DEV_SECRET_KEY, salt="smeflow-session").dumps(
        {"u": _user_id(world, "admin"), "c": "x"})
    with served(env, tmp_path / "serve.log") as base:
        key_file = data_dir / "secrets" / "session_key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert stat.S_IMODE((data_dir / "secrets" / "audit_signing_key").stat().st_mode) == 0o600
        assert len(key_file.read_text().strip()) >= 32
        r = httpx.get(f"{base}/admin", cookies={"smeflow_session": forged}, follow_redirects=False, timeout=30)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        ok = _login(base, "admin", DEMO_PASSWORD)  # development: the demo accounts work
        assert ok.status_code == 303
        page = httpx.get(f"{base}/admin", cookies={"smeflow_session": _session_cookie(ok)["smeflow_session"].value},
                         follow_redirects=False, timeout=30)
        assert page.status_code == 200
    first = key_file.read_text()
    with served(env, tmp_path / "serve2.log"):  # the next start keeps the install's secret
        assert key_file.read_text() == first


@pytest.mark.parametrize("environment", ["development", "staging", "production"])
def test_public_or_short_secrets_refuse_to_start(world: Services, tmp_path: Path, environment: str) -> None:
    public = refused_start(serve_env(world.settings.database_url, tmp_path, environment=environment,
                                     secret_key=DEV_SECRET_KEY, audit_signing_key=AUDIT))
    assert public.returncode == 1 and "拒绝启动：SMEFLOW_SECRET_KEY 是公开的值" in public.stderr
    short = refused_start(serve_env(world.settings.database_url, tmp_path, environment=environment,
                                    secret_key=STRONG, audit_signing_key="k" * 31))
    assert short.returncode == 1 and "SMEFLOW_AUDIT_SIGNING_KEY 短于 32 字节" in short.stderr
    assert "Traceback" not in public.stderr + short.stderr


def test_the_demo_is_refused_outside_development(services_env: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    for environment in ("staging", "production"):
        monkeypatch.setenv("SMEFLOW_ENVIRONMENT", environment)
        monkeypatch.setenv("SMEFLOW_SECRET_KEY", STRONG)
        monkeypatch.setenv("SMEFLOW_AUDIT_SIGNING_KEY", AUDIT)
        get_settings.cache_clear()
        for command in (["demo"], ["arrears", "demo"]):
            result = CliRunner().invoke(cli_app, command)
            assert result.exit_code == 1, result.output
            assert "演示数据只能在开发或测试环境中加载" in result.output
    get_settings.cache_clear()
    with services_env.uow() as uow:
        assert uow.session.scalar(select(User.id).where(User.username == "bureau")) is None  # nothing loaded


def test_in_production_the_cookie_is_secure_and_demo_accounts_refused(world: Services, tmp_path: Path) -> None:
    with world.uow() as uow:
        admin = uow.session.scalar(select(User).where(User.username == "admin"))
        assert admin is not None
        admin.password_hash = world.password_hasher.hash("a-real-admin-password-for-prod")
        uow.commit()
    env = serve_env(world.settings.database_url, tmp_path, environment="production", secret_key=STRONG,
                    audit_signing_key=AUDIT)
    with served(env, tmp_path / "serve.log") as base:
        refused = _login(base, "bureau", DEMO_PASSWORD)
        assert refused.status_code == 401 and "演示账号的公开密码只能在开发或测试环境中使用" in refused.text
        assert "set-cookie" not in refused.headers
        ok = _login(base, "admin", "a-real-admin-password-for-prod")  # plain HTTP, no proxy header
        assert ok.status_code == 303
        assert _session_cookie(ok)["smeflow_session"]["secure"] is True


@pytest.mark.parametrize(("proxies", "secure"), [("", False), ("127.0.0.1", True)])
def test_forwarded_headers_only_from_the_named_proxies(world: Services, tmp_path: Path, proxies: str,
                                                       secure: bool) -> None:
    env = serve_env(world.settings.database_url, tmp_path, environment="development",
                    forwarded_allow_ips=proxies)
    with served(env, tmp_path / "serve.log") as base:
        r = _login(base, "admin", DEMO_PASSWORD, **{"X-Forwarded-Proto": "https"})
        assert r.status_code == 303
        assert bool(_session_cookie(r)["smeflow_session"]["secure"]) is secure
