"""Issue 12, item 10: a lone surrogate in any JSON string used to reach argon2, the database driver or a
template and answer 500. Every JSON body is now checked first: 422 naming the field (nested fields by
their path) and the rule, nothing written; a valid surrogate pair (an emoji) is ordinary text."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from services.bootstrap import Services
from tests.helpers import snapshot

Token = Callable[[str], dict[str, str]]
RULE = "须为有效的 Unicode 文本"


@pytest.mark.parametrize(("user", "path", "body", "field"), [
    ("", "/api/v1/tokens", '{"username": "\\ud800", "password": "x"}', "username"),
    ("applicant-a", "/api/v1/enterprise", '{"uscc": "x", "name": "\\udc00\\u4f01\\u4e1a"}', "name"),
    ("applicant-a", "/api/v1/honours", '{"honour_type": "\\ud800"}', "honour_type"),
    ("applicant-a", "/api/v1/applications", '{"call_id": 1, "award_type": "m2", "description": "a\\ud83d"}',
     "description"),
    ("applicant-a", "/api/v1/applications/1/resubmit", '{"description": "\\ud800"}', "description"),
    ("admin", "/api/v1/admin/users", '{"username": "u", "display_name": "\\ud800", "role": "bureau"}', "display_name"),
    ("bureau", "/api/v1/arrears/steps/1", '{"decision": "accept", "fields": {"amount": "\\udfff"}}', "fields.amount"),
    ("bureau", "/api/v1/arrears/cases", '[{"\\ud800": 1}]', "0.?"),
])
def test_a_lone_surrogate_is_refused_with_its_field(world: Services, client: TestClient, token: Token, user: str,
                                                    path: str, body: str, field: str) -> None:
    headers = {**(token(user) if user else {}), "Content-Type": "application/json"}
    before = snapshot(world)
    r = client.post(path, content=body.encode(), headers=headers)
    assert r.status_code == 422 and r.json()["field"] == field and RULE in r.json()["rule"], r.text
    assert snapshot(world) == before


def test_a_surrogate_pair_is_ordinary_text(world: Services, client: TestClient) -> None:
    r = client.post("/api/v1/tokens", content=b'{"username": "\\ud83d\\ude00", "password": "x"}',
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["field"] == "password"  # no such user: the ordinary refusal


def test_a_nul_in_a_query_or_path_is_a_422_naming_the_parameter(world: Services, login) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL text cannot hold NUL: refused before any route reads it (pages and API alike)."""
    c = login("bureau")
    api = c.get("/api/v1/arrears/cases", params={"department": "a\x00b"})
    assert api.status_code == 422 and api.json()["field"] == "department"
    page = c.get("/pool", params={"q": "a\x00b"})
    assert page.status_code == 422 and "空字符" in page.text
    assert c.get("/admin/diagrams/%00.bpmn").status_code == 422
