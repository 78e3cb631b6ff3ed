"""Property-based tests of the JSON API: schemathesis reads the app's own /openapi.json and throws generated
requests, valid and invalid, at every operation in-process (ASGI), with the bearer token of each kind of user
the operation serves. Whatever it sends, the answer must never be a server error, and a refusal (4xx) must
say in its JSON `detail` what is wrong.

The schema is read at import from an app that is never called (the OpenAPI document depends on the routes
only); the generated requests go to an app on the test database, built once for the module: demo users plus
a few cases in different stages, so that small ids in paths reach real applications, documents and work items.
(schemathesis.pytest.from_fixture would read the schema from a fixture, but it breaks on pytest 9: it sets
`request.node._nodeid`, which pytest 9 no longer has. Also on pytest 9 the items that schema.parametrize makes
all share one node id, without the operation: a failure names its operation in its message, and -k still
selects by operation, e.g. -k "POST and tokens".)
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from app.web import create_app
from config.settings import Settings
from services.awards.demo import DEMO_PASSWORD, Demo
from services.bootstrap import Services, build
from services.setup import initialise
from services.time.clock import ManualClock
from tests.conftest import ON_POSTGRES, START, _reset_postgres
from tests.helpers import act, apply_for, pass_public_notice

# Who uses which part of the API: each generated request is sent as each of these users, so that it gets
# past the role check and reaches the code behind it (a request as an outsider stops at a quick 403/404).
AUDIENCE = [
    ("/api/v1/admin/", ("admin",)),
    ("/api/v1/audit/", ("auditor", "manager")),
    ("/api/v1/arrears/", ("bureau", "manager", "applicant-a")),
    ("/api/v1/tasks", ("district-donghu", "bureau", "finance")),
    ("/api/v1/dashboard", ("manager", "bureau")),
    ("/api/v1/cases", ("manager", "district-donghu", "applicant-a")),
    ("/api/v1/", ("applicant-a", "district-donghu", "bureau")),  # tokens, me, calls, enterprise, applications
]
ROLES = sorted({user for _prefix, users in AUDIENCE for user in users})
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
EXAMPLES = 8  # generated per operation, on top of schemathesis' own boundary cases; each sent once per user


@pytest.fixture(scope="module")
def api_world(database_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """The demo world with cases at district check, at finance payout and paid, shared by the module."""
    data_dir = tmp_path_factory.mktemp("api-world")
    if ON_POSTGRES:
        _reset_postgres(database_template)
        url = database_template
    else:
        shutil.copy(database_template.split("///", 1)[1], data_dir / "smeflow.db")
        url = f"sqlite:///{data_dir / 'smeflow.db'}"
    svc = build(Settings(database_url=url, environment="test", data_dir=data_dir,
                         argon2_time_cost=1, argon2_memory_kib=64), clock=ManualClock(START))
    if ON_POSTGRES:
        initialise(svc)
    Demo(svc, echo=False).load()
    paid = apply_for(svc, "南昌精工智能装备有限公司", "m2-little-giant-national", 300_000_00)
    at_finance = apply_for(svc, "江西赣江新材料科技有限公司", "m2-srdi-sme-province", 60_000_00)
    act(svc, paid, "district-donghu", "approve")
    act(svc, at_finance, "district-xihu", "approve")
    act(svc, paid, "bureau", "approve", amount_fen=300_000_00)
    act(svc, at_finance, "bureau", "approve", amount_fen=50_000_00)
    pass_public_notice(svc)
    act(svc, paid, "finance", "pay", reference="PAY-1")
    open_case = apply_for(svc, "南昌洪城食品有限公司", "m2-srdi-sme-city", 50_000_00)  # at district check (东湖区)
    with TestClient(create_app(svc)) as c:  # a supporting file on the open case, uploaded by its applicant
        r = c.post("/api/v1/tokens", json={"username": "applicant-c", "password": DEMO_PASSWORD})
        bearer = {"Authorization": f"Bearer {r.json()['token']}"}
        up = c.post(f"/api/v1/applications/{open_case}/documents", headers=bearer,
                    files=[("files", ("证书.pdf", PDF, "application/pdf"))])
        assert up.status_code == 201, up.text
    yield svc
    svc.db.dispose()


@pytest.fixture(scope="module")
def api_app(api_world: Services) -> FastAPI:
    return create_app(api_world)


@pytest.fixture(scope="module")
def role_headers(api_world: Services) -> dict[str, dict[str, str]]:
    """Bearer-token headers per role, issued by the API itself before any generated request runs."""
    headers = {}
    with TestClient(create_app(api_world)) as c:
        for username in ROLES:
            r = c.post("/api/v1/tokens", json={"username": username, "password": DEMO_PASSWORD})
            assert r.status_code == 200, r.text
            headers[username] = {"Authorization": f"Bearer {r.json()['token']}"}
    return headers


schema = schemathesis.openapi.from_asgi(
    "/openapi.json", create_app(build(Settings(database_url="sqlite://", environment="test"))))


def errors_say_what_is_wrong(ctx: Any, response: Any, case: Any) -> bool | None:
    """A refused request is answered in JSON with a non-empty `detail`: what a client shows its user."""
    if 400 <= response.status_code < 500:
        try:
            body = response.json()
        except ValueError:
            body = None
        detail = body.get("detail") if isinstance(body, dict) else None
        assert detail, f"{response.status_code} without a detail: {response.text[:300]!r}"
    return None


# Every answer is one the document declares (app/web/openapi.py adds the refusals), with its schema.
CHECKS = [not_a_server_error, errors_say_what_is_wrong, status_code_conformance, response_schema_conformance]


def _users(case: Any) -> tuple[str, ...]:
    return next(users for prefix, users in AUDIENCE if case.operation.path.startswith(prefix))


@schema.parametrize()
@settings(deadline=None, database=None, phases=[Phase.explicit], suppress_health_check=list(HealthCheck))
def test_boundary_cases_never_get_a_server_error(case: Any, api_app: FastAPI,
                                                 role_headers: dict[str, dict[str, str]]) -> None:
    """Schemathesis' deterministic cases for every operation (missing and extra fields, wrong types, values
    at and past each limit, empty and huge strings), as the operation's main user."""
    case.call_and_validate(app=api_app, headers=role_headers[_users(case)[0]], checks=CHECKS)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, phases=[Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_random_requests_never_get_a_server_error(case: Any, api_app: FastAPI,
                                                  role_headers: dict[str, dict[str, str]]) -> None:
    """Random requests, valid and invalid, for every operation, as each of its users."""
    for username in _users(case):
        case.call_and_validate(app=api_app, headers=role_headers[username], checks=CHECKS)
