"""Issue 12, the route walk: every operation of /openapi.json and every page, with oversized, surrogate,
overflowing and wrong-typed values in each path parameter, query parameter, JSON property and form
field in turn, sent as the route's own users (so the values get past the role checks to the code
behind them). Never a server error: a refusal is a 4xx with a JSON `detail` under /api/, and an HTML
page (the error page, or the form again with its message) elsewhere.

It runs on the demo world of the schemathesis module (cases at several stages, a stored document), so
that small ids reach real rows; about two thousand requests in-process.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi import FastAPI, params
from fastapi.testclient import TestClient
from starlette.requests import Request

from app.web import create_app
from services.awards.demo import DEMO_PASSWORD
from services.bootstrap import Services
from tests.web.routes import all_routes
from tests.web.test_api_schemathesis import AUDIENCE, api_world, role_headers  # noqa: F401 (fixtures)

SURROGATE = "\ud800"
TEXT = ["长" * 5000, SURROGATE, "a\x00b", "1e999999", "9999-12-31", "9999-12", str(2**80), "abc"]
JSON_VALUES: list[Any] = ["长" * 5000, SURROGATE, "1e999999", "9999-12-31", 2**80, 1e308, [], {"a": 1}, True, None]
PATH_VALUES = ["0", "-1", str(2**80), "abc", quote(SURROGATE, errors="surrogatepass"), "x" * 3000, "%00"]
# Who walks which pages; /logout ends its session, so it gets a user no other page needs.
PAGES = [("/admin", "admin"), ("/audit", "auditor"), ("/arrears", "bureau"), ("/pool", "bureau"),
         ("/offers", "bureau"), ("/policy", "bureau"), ("/funds", "bureau"), ("/dashboard", "manager"),
         ("/diagrams", "manager"), ("/tasks", "district-donghu"), ("/inbox", "district-donghu"),
         ("/my", "applicant-a"), ("/calls", "applicant-a"), ("/enterprise", "applicant-a"),
         ("/claim", "applicant-a"), ("/login", ""), ("/logout", "finance"), ("/", "applicant-a")]


@pytest.fixture(scope="module")
def app(api_world: Services) -> FastAPI:  # noqa: F811
    return create_app(api_world)


@pytest.fixture(scope="module")
def sessions(app: FastAPI) -> Iterator[dict[str, tuple[TestClient, str]]]:
    """A signed-in browser per page user, with its CSRF token."""
    clients: dict[str, tuple[TestClient, str]] = {}
    for username in {user for _prefix, user in PAGES}:
        client = TestClient(app, follow_redirects=False, raise_server_exceptions=False)
        if username:
            assert client.post("/login", data={"username": username, "password": DEMO_PASSWORD}).status_code == 303
        page = client.get("/account" if username else "/login").text
        token = re.search(r'name="csrf_token" value="([^"]*)"', page)
        clients[username] = (client, token.group(1) if token else "")
    yield clients
    for client, _token in clients.values():
        client.close()


def _schema(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = document["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _plausible(schema: dict[str, Any]) -> Any:
    kind = schema.get("type") or next((s.get("type") for s in schema.get("anyOf", []) if s.get("type") != "null"), "")
    return {"integer": 1, "number": 1, "boolean": False, "array": [], "object": {}}.get(kind, "1")


def _api_cases(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(method, path, request options) for every hostile variant of every operation."""
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
            base_path = path
            for name in names:
                base_path = base_path.replace("{" + name + "}", "1")
            for name in names:
                for value in PATH_VALUES:
                    yield method, path.replace("{" + name + "}", value).replace("{", "").replace("}", ""), {}
            for param in operation.get("parameters", []):
                if param["in"] == "query":
                    for value in TEXT:
                        yield method, base_path, {"params": {param["name"]: value}}
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                body_schema = _schema(document, content["application/json"]["schema"])
                properties = body_schema.get("properties", {})
                base = {k: _plausible(_schema(document, v)) for k, v in properties.items()}
                for name in properties:
                    for value in JSON_VALUES:
                        yield method, base_path, {"json": {**base, name: value}}
                for value in ([], "x", 2**80, SURROGATE):
                    yield method, base_path, {"json": value}
            if "multipart/form-data" in content:
                for filename, data in [("x.csv", b"a\x00b\n" * 3), ("x.xlsx", b"PK\x03\x04broken"), ("", b"")]:
                    yield method, base_path, {"files": {"file": (filename, data), "files": (filename, data)}}


def _encoded(values: dict[str, str]) -> str:
    """A query string or form body; a lone surrogate goes as its (invalid) UTF-8 bytes, %ED%A0%80."""
    return "&".join(f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'))}" for k, v in values.items())


def _send(client: TestClient, method: str, path: str, options: dict[str, Any], headers: dict[str, str]) -> Any:
    if "params" in options:
        return client.request(method, f"{path}?{_encoded(options['params'])}", headers=headers)
    if "json" in options:
        body = json.dumps(options["json"]).encode()  # json.dumps escapes a lone surrogate as \ud800
        return client.request(method, path, content=body, headers={**headers, "Content-Type": "application/json"})
    return client.request(method, path, headers=headers, **options)


def test_every_api_operation_refuses_hostile_values_without_a_server_error(
        app: FastAPI, role_headers: dict[str, dict[str, str]]) -> None:  # noqa: F811
    document = app.openapi()
    failures: list[str] = []
    count = 0
    with TestClient(app, raise_server_exceptions=False) as client:
        for method, path, options in _api_cases(document):
            users = next(users for prefix, users in AUDIENCE if path.startswith(prefix))
            r = _send(client, method.upper(), path, options, role_headers[users[0]])
            count += 1
            detail = r.json().get("detail") if r.headers.get("content-type", "").startswith("application/json") \
                and isinstance(r.json(), dict) else None
            if r.status_code >= 500 or (400 <= r.status_code < 500 and not detail):
                failures.append(f"{method.upper()} {path[:80]} {str(options)[-160:]} -> {r.status_code} {r.text[:200]}")
    assert count > 1000
    assert failures == [], "\n".join(failures[:40])


def _page_fields(endpoint: Any) -> list[str]:
    """The query or form fields a page route reads (not its dependencies, request or files)."""
    fields = []
    for name, parameter in inspect.signature(endpoint).parameters.items():
        default = parameter.default
        annotation = str(parameter.annotation)
        if isinstance(default, params.Depends) or "Depends" in annotation or parameter.annotation is Request \
                or annotation == "Request" or "UploadFile" in annotation or isinstance(default, params.File):
            continue
        if isinstance(default, params.Path) or "Path(" in annotation:
            continue
        fields.append(getattr(default, "alias", None) or name)
    return fields


def _user_of(path: str) -> str:
    return next(user for prefix, user in PAGES if path == prefix or path.startswith(prefix.rstrip("/") + "/")
                or prefix == "/")


def test_every_page_refuses_hostile_values_without_a_server_error(
        app: FastAPI, sessions: dict[str, tuple[TestClient, str]]) -> None:
    failures: list[str] = []
    count = signed_out = 0
    pages = [r for r in all_routes(app) if not r.in_schema and r.endpoint.__module__.startswith("app.web.pages")]
    assert len(pages) > 50
    for route in pages:
        client, token = sessions[_user_of(route.path)]
        names = re.findall(r"\{(\w+)(?::\w+)?\}", route.path)
        base = re.sub(r"\{(\w+)(?::\w+)?\}", "1", route.path)
        variants: list[tuple[str, dict[str, str]]] = []
        for name in names:
            pattern = r"\{" + name + r"(?::\w+)?\}"
            variants += [(re.sub(r"\{(\w+)(?::\w+)?\}", "1", re.sub(pattern, v, route.path)), {})
                         for v in PATH_VALUES]
        variants += [(base, {field: value}) for field in _page_fields(route.endpoint) for value in TEXT]
        variants.append((base, {}))
        for method in sorted(route.methods - {"HEAD"}):
            for path, values in variants:
                if method == "GET":
                    r = client.get(f"{path}?{_encoded(values)}")
                else:
                    r = client.post(path, content=_encoded({"csrf_token": token, **values}),
                                    headers={"Content-Type": "application/x-www-form-urlencoded"})
                count += 1
                signed_out += r.headers.get("location", "").startswith("/login")
                html = r.headers.get("content-type", "").startswith("text/html")
                if r.status_code >= 500 or (400 <= r.status_code < 500 and not html):
                    failures.append(f"{method} {path[:80]} {str(values)[:60]} -> {r.status_code} {r.text[:200]}")
    assert count > 500 and signed_out < count // 20  # the values reached the pages, not the sign-in redirect
    assert failures == [], "\n".join(failures[:40])
