"""Signing in with a password, for the login page and for `POST /api/v1/tokens` alike: the demo's
password refused outside development/test, the throttle (per username and per client address), the
timing-safe password check, the login-CSRF check and the cookie's Secure flag."""

from __future__ import annotations

import hmac
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from fastapi import Request

from app.web.security import wall_now
from config.settings import DEV_ENVIRONMENTS
from services.accounts import throttle, users
from services.audit import chain as audit
from services.awards.demo import DEMO_PASSWORD
from services.bootstrap import Services
from services.db.models import User
from services.errors import InvalidInput, TooManyAttempts
from services.uow import UnitOfWork

WRONG = "用户名或密码错误"
DEMO_REFUSED = "演示账号的公开密码只能在开发或测试环境中使用，请由管理员为此账户设置新密码"


def limits(services: Services) -> throttle.Limits:
    s = services.settings
    return throttle.Limits(per_account=s.login_max_failures_per_account, per_address=s.login_max_failures_per_address,
                           window=timedelta(minutes=s.login_failure_window_minutes),
                           lockout=timedelta(minutes=s.login_lockout_minutes))


def _locked_message(until: datetime, now: datetime, timezone: str) -> str:
    minutes = max(1, -(-int((until - now).total_seconds()) // 60))
    return (f"登录失败次数过多，此账户或此网络地址已被暂时锁定，请于 {until.astimezone(ZoneInfo(timezone)):%H:%M} "
            f"后（约 {minutes} 分钟）再试。如忘记密码，请联系系统管理员。")


def sign_in(request: Request, uow: UnitOfWork, services: Services, *, username: str, password: str) -> User:
    """The user, or: TooManyAttempts while the username or the client address is locked (even with the
    right password); InvalidInput("password") for a wrong one (the failure is counted and committed
    before raising, with a `login.locked` audit event when it starts a lock). Outside development and
    test the demo's public password is refused before any account is looked up (so the refusal tells
    nothing about which accounts exist)."""
    settings = services.settings
    if settings.environment not in DEV_ENVIRONMENTS and hmac.compare_digest(password.encode(),
                                                                            DEMO_PASSWORD.encode()):
        raise InvalidInput("password", DEMO_REFUSED)
    now, rules = wall_now(), limits(services)
    address = request.client.host if request.client else None
    keys = [(throttle.account_key(username), rules.per_account, "account"),
            (throttle.address_key(address), rules.per_address, "address")]
    until = throttle.locked_until(uow.session, [k for k, _, _ in keys], now)
    if until is not None:
        raise TooManyAttempts(_locked_message(until, now, settings.timezone))
    user = users.authenticate(uow.session, hasher=services.password_hasher, username=username, password=password)
    if user is not None:
        throttle.clear(uow.session, keys[0][0])
        return user
    for key, limit, scope in keys:
        locked = throttle.record_failure(uow.session, key, limit=limit, now=now, window=rules.window,
                                         lockout=rules.lockout)
        if locked is not None:
            audit.append(uow.session, kind="login.locked", actor="anonymous", at=services.clock.now(),
                         payload={"scope": scope, "username": username[:80], "address": address,
                                  "failures": limit, "locked_until": locked.isoformat()})
    throttle.prune(uow.session, now=now, window=rules.window, keep=[k for k, _, _ in keys])
    uow.commit()
    raise InvalidInput("password", WRONG)


def cookie_secure(request: Request, services: Services) -> bool:
    """The session cookie is Secure in production always, elsewhere when the request came over HTTPS
    (the scheme a trusted proxy reports, see the setting forwarded_allow_ips)."""
    return services.settings.environment == "production" or request.url.scheme == "https"


def same_origin(request: Request) -> bool:
    """Whether a form post comes from this site's own pages: its Origin (else its Referer) names this
    host. Browsers send Origin with every cross-site POST ("null" from an opaque origin, refused); a
    post with neither header is no browser's cross-site request and passes (API clients, curl)."""
    origin = request.headers.get("origin")
    source = origin if origin is not None else request.headers.get("referer")
    if source is None:
        return True
    parts = urlsplit(source)
    host = request.headers.get("host", "")
    return parts.scheme in ("http", "https") and bool(host) and parts.netloc.lower() == host.lower()
