"""JSON strings must be text: a lone surrogate (`"\\ud800"`) is refused with the field it is in.

JSON may escape any UTF-16 code unit, so `"\\ud800"` parses into a Python string that cannot be
encoded as UTF-8: it reached argon2, the database driver or a template and failed there with a 500.
An ASGI middleware (inside app.web.limits, so the body is already bounded and timed) reads a JSON
body, and when any key or string value holds a lone surrogate answers 422 with the field and rule,
as InvalidInput does; otherwise it hands the same bytes on. Forms, query strings and paths are
decoded by Starlette and uvicorn with replacement characters, so they cannot carry one.
"""

from __future__ import annotations

import json
import re
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LONE_SURROGATE = re.compile("[\ud800-\udfff]")
RULE = "须为有效的 Unicode 文本（含有孤立的代理码位 \\ud800-\\udfff）"


def surrogate_field(value: Any, path: str = "") -> str | None:
    """The dotted path of the first key or string holding a lone surrogate, or None."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if LONE_SURROGATE.search(item):
                return where or "body"
        elif isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{where}.{key}" if where else str(key)
                if LONE_SURROGATE.search(str(key)):
                    return LONE_SURROGATE.sub("?", child_path)
                stack.append((child, child_path))
        elif isinstance(item, list):
            stack.extend((child, f"{where}.{i}" if where else str(i)) for i, child in enumerate(item))
    return None


class JsonTextCheck:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        content_type = Headers(scope=scope).get("content-type", "") if scope["type"] == "http" else ""
        if "json" not in content_type.split(";", 1)[0].lower():
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([], message, receive), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        field = _field_of(body)
        if field is not None:
            rule = f"{field}：{RULE}"
            await JSONResponse({"detail": rule, "field": field, "rule": RULE}, status_code=422)(scope, receive, send)
            return
        await self.app(scope, _replay([body], None, receive), send)


def _field_of(body: bytes) -> str | None:
    if b"\\u" not in body or not re.search(rb"\\u[dD][89a-fA-F]", body):
        return None  # no escaped surrogate at all: the common case costs one scan
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return None  # not JSON: FastAPI answers that itself
    return surrogate_field(data)


def _replay(bodies: list[bytes], pending: Message | None, receive: Receive) -> Receive:
    """A receive that hands the buffered body on once, then whatever the client sends next."""
    queue: list[Message] = [{"type": "http.request", "body": b, "more_body": False} for b in bodies]
    if pending is not None:
        queue.append(pending)

    async def replayed() -> Message:
        return queue.pop(0) if queue else await receive()

    return replayed
