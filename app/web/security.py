"""Session cookies and CSRF tokens.

The cookie carries the random token of a server-side session (services.accounts.sessions), signed
with the install's session secret; the session's user and CSRF token live in the database, so ending
a session is deleting its row."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "smeflow_session"


def wall_now() -> datetime:
    """The real time, for session and token expiry and sign-in throttling: never the demo or test clock,
    so moving the demo clock does not sign anyone out."""
    return datetime.now(UTC)


class SessionCodec:
    """Signs the session token into the cookie and reads it back (a bad or too old signature: None)."""

    def __init__(self, secret: str, max_age_seconds: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="smeflow-session")
        self.max_age = max_age_seconds

    def seal(self, token: str) -> str:
        return self._serializer.dumps({"s": token})

    def token(self, cookie: str | None) -> str | None:
        if not cookie or len(cookie) > 512:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=self.max_age)
        except BadSignature:
            return None
        token = data.get("s") if isinstance(data, dict) else None
        return token if isinstance(token, str) and token else None


def same_token(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two CSRF tokens."""
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))
