"""Signed session cookies and CSRF tokens."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "smeflow_session"
MAX_AGE = 12 * 3600


class SessionCodec:
    """Signs the session (user id + CSRF token) into the cookie; nothing else is stored client-side."""

    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="smeflow-session")

    def new(self, user_id: int) -> tuple[str, str]:
        """A fresh session for `user_id`: (cookie value, CSRF token)."""
        csrf = secrets.token_urlsafe(24)
        return self._serializer.dumps({"u": user_id, "c": csrf}), csrf

    def read(self, cookie: str | None) -> dict[str, Any] | None:
        if not cookie:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=MAX_AGE)
        except BadSignature:
            return None
        return data if isinstance(data, dict) and "u" in data and "c" in data else None


def same_token(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two CSRF tokens."""
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))
