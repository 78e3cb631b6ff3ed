"""Signing in with a password, for the login page and for `POST /api/v1/tokens` alike."""

from __future__ import annotations

import hmac

from fastapi import Request

from config.settings import DEV_ENVIRONMENTS
from services.accounts import users
from services.awards.demo import DEMO_PASSWORD
from services.bootstrap import Services
from services.db.models import User
from services.errors import InvalidInput
from services.uow import UnitOfWork

WRONG = "用户名或密码错误"
DEMO_REFUSED = "演示账号的公开密码只能在开发或测试环境中使用，请由管理员为此账户设置新密码"


def sign_in(request: Request, uow: UnitOfWork, services: Services, *, username: str, password: str) -> User:
    """The user, or InvalidInput("password") with the reason. Outside development and test the demo's
    public password is refused before any account is looked up (so the refusal tells nothing about
    which accounts exist)."""
    if (services.settings.environment not in DEV_ENVIRONMENTS
            and hmac.compare_digest(password.encode(), DEMO_PASSWORD.encode())):
        raise InvalidInput("password", DEMO_REFUSED)
    user = users.authenticate(uow.session, hasher=services.password_hasher, username=username, password=password)
    if user is None:
        raise InvalidInput("password", WRONG)
    return user


def cookie_secure(request: Request, services: Services) -> bool:
    """The session cookie is Secure in production always, elsewhere when the request came over HTTPS
    (the scheme a trusted proxy reports, see the setting forwarded_allow_ips)."""
    return services.settings.environment == "production" or request.url.scheme == "https"
