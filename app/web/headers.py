"""Security headers on every answer (an ASGI middleware).

- Pages get a strict Content-Security-Policy: scripts only from this origin (the vendored bpmn-js
  viewer and /static/*.js; no inline script, no `javascript:` links, no event-handler attributes),
  images from this origin and `data:` (the bpmn.io logo the viewer draws), nothing framed, no plugins.
  Inline `style` attributes stay allowed: a few templates size bars with them and bpmn-js sets them;
  styles cannot run script.
- Other answers (JSON, files) get `default-src 'none'`; an answer that sets its own policy (the
  sandboxed diagrams and downloads) keeps it.
- The Swagger page at /api/docs is a page like the others: Swagger UI is vendored under /static and
  started by a script file (app/web/docs.py), so it needs no exception.
- Framing is denied everywhere (`frame-ancestors 'none'` and X-Frame-Options for old browsers),
  `Referrer-Policy: same-origin`, `X-Content-Type-Options: nosniff`, and over HTTPS
  Strict-Transport-Security for the setting `hsts_max_age_seconds`.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
               "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
               "frame-ancestors 'none'")
DATA_POLICY = "default-src 'none'; frame-ancestors 'none'"


class SecurityHeaders:
    """Adds the headers above to each response start, keeping a policy a route set itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        hsts = scope["app"].state.services.settings.hsts_max_age_seconds if scope.get("scheme") == "https" else 0

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = policy_for(headers.get("content-type", ""))
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("X-Content-Type-Options", "nosniff")
                if hsts > 0:
                    headers.setdefault("Strict-Transport-Security", f"max-age={hsts}; includeSubDomains")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def policy_for(content_type: str) -> str:
    """The Content-Security-Policy of an answer that did not set its own."""
    return PAGE_POLICY if content_type.startswith("text/html") else DATA_POLICY
