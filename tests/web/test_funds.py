"""Budget lines over the pages and the API: the bureau creates and adjusts (with a reason), the
dashboard shows every line, bad input answers 422 naming the field, other roles are refused."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from services.bootstrap import Services
from tests.web.conftest import csrf_of


def test_bureau_manages_budget_lines_on_the_page(world: Services, login: Callable[[str], TestClient]) -> None:
    bureau = login("bureau")
    page = bureau.get("/funds").text
    assert "2024年市级中小企业发展专项资金" in page and "600,000.00" in page
    made = bureau.post("/funds", data={"csrf_token": csrf_of(page), "year": "2024", "line": "xihu",
                                       "budget": "80,000.50", "name": ""})
    assert made.status_code == 303 and made.headers["location"] == "/funds?done=created"
    page = bureau.get("/funds?done=created").text
    assert "2024年西湖区配套资金" in page and "80,000.50" in page
    no_reason = bureau.post("/funds/2024-xihu/adjust", data={"csrf_token": csrf_of(page), "to": "90000",
                                                              "reason": ""})
    assert no_reason.status_code == 422 and "须说明理由" in no_reason.text
    done = bureau.post("/funds/2024-xihu/adjust", data={"csrf_token": csrf_of(page), "by": "9,999.50",
                                                         "reason": "区财政追加"})
    assert done.status_code == 303
    assert "90,000.00" in bureau.get("/funds").text
    board = login("manager").get("/dashboard").text
    assert "2024年西湖区配套资金" in board and "2024年市级中小企业发展专项资金" in board
    assert login("applicant-a").get("/funds").status_code == 403


def test_budget_lines_over_the_api(world: Services, token: Callable[[str], dict[str, str]],
                                   client: TestClient) -> None:
    bureau = token("bureau")
    made = client.post("/api/v1/funds", json={"year": 2025, "line": "donghu", "budget_fen": 30_000_000},
                       headers=bureau)
    assert made.status_code == 201, made.text
    assert made.json() | {} == {"code": "2025-donghu", "name": "2025年东湖区配套资金", "year": 2025, "line": "donghu",
                                "budget_fen": 30_000_000, "committed_fen": 0, "paid_fen": 0,
                                "remaining_fen": 30_000_000, "available_fen": 30_000_000}
    floaty = client.post("/api/v1/funds", json={"year": 2025, "line": "xihu", "budget_fen": 300000.5},
                         headers=bureau)
    assert floaty.status_code == 422
    adjusted = client.post("/api/v1/funds/2025-donghu/adjust", json={"by_fen": -10_000_000, "reason": "调减"},
                           headers=bureau)
    assert adjusted.status_code == 200 and adjusted.json()["budget_fen"] == 20_000_000
    below = client.post("/api/v1/funds/2025-donghu/adjust", json={"to_fen": -1, "reason": "x"}, headers=bureau)
    assert below.status_code == 422 and below.json()["field"] == "budget"
    listed = {f["code"]: f["budget_fen"] for f in client.get("/api/v1/funds", headers=token("finance")).json()}
    assert listed == {"sme-2024": 60_000_000, "2025-donghu": 20_000_000}
    assert client.post("/api/v1/funds", json={"year": 2025, "budget_fen": 1},
                       headers=token("finance")).status_code == 403
    assert client.get("/api/v1/funds", headers=token("applicant-a")).status_code == 403
