"""The year's round over the JSON API: editions listed with their state and loaded by an admin (every
problem named, nothing stored on refusal), recognition lists imported by the bureau (all or nothing,
row and rule named), the pool scoped to the caller's unit, and offers answered by their enterprise."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from services.awards.demo import demo_uscc
from services.bootstrap import Services
from services.db.models import Honour, PolicyRevision
from tests.policy.editions import TEST_CODE, successor_text
from tests.pool.lists import code, csv_file, wrong_check

Token = Callable[[str], dict[str, str]]
NEW = code("360111", 41)  # 青山湖区, a made-up enterprise with no account
LIST = [
    [demo_uscc(1), "南昌精工智能装备有限公司", "专精特新“小巨人”企业", "国家级", "工信测字〔2024〕41号",
     "2024-01-10", ""],
    [NEW, "南昌测试青山湖接口科技有限公司", "“专精特新”中小企业", "江西省", "赣工信测字〔2023〕41号", "2023-09-01", ""],
]


def _count(world: Services, model: type) -> int:
    with world.uow() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def _upload(client: TestClient, url: str, headers: dict[str, str], name: str, content: bytes,
            **data: str) -> tuple[int, dict]:
    r = client.post(url, headers=headers, files={"file": (name, content, "application/octet-stream")}, data=data)
    return r.status_code, r.json()


def test_editions_listed_checked_and_loaded(world: Services, client: TestClient, token: Token) -> None:
    listed = client.get("/api/v1/policy/editions", headers=token("bureau"))
    assert listed.status_code == 200
    assert [(e["edition_code"], e["state_zh"], e["latest"]) for e in listed.json()] == [("2022-109", "施行", True)]
    assert client.get("/api/v1/policy/editions", headers=token("applicant-a")).status_code == 403

    admin = token("admin")
    bad = successor_text().replace("cap_fen = 30_000_000", "cap_fen = 300000.0", 1)
    status, body = _upload(client, "/api/v1/policy/editions/check", admin, "bad.toml", bad.encode())
    assert status == 422 and body["ok"] is False
    assert any(i["field"].endswith("cap_fen") for i in body["issues"]), body
    assert any(i["label"].endswith("的奖励上限（分）") for i in body["issues"]), body
    status, body = _upload(client, "/api/v1/policy/editions", admin, "bad.toml", bad.encode())
    assert status == 422 and _count(world, PolicyRevision) == 1  # nothing stored

    good = successor_text().encode()
    status, body = _upload(client, "/api/v1/policy/editions/check", admin, "next.toml", good)
    assert (status, body["ok"], body["edition_code"]) == (200, True, TEST_CODE)
    assert _count(world, PolicyRevision) == 1  # a check stores nothing
    refused, _ = _upload(client, "/api/v1/policy/editions", token("bureau"), "next.toml", good)
    assert refused == 403
    status, body = _upload(client, "/api/v1/policy/editions", admin, "next.toml", good)
    assert status == 201 and body["stored"] is True
    assert (body["edition"]["edition_code"], body["edition"]["revision"], body["edition"]["state_zh"]) == (
        TEST_CODE, 1, "草案")  # in force from 2025-09-02; the test clock is 2024-06-03
    again, body = _upload(client, "/api/v1/policy/editions", admin, "next.toml", good)
    assert again == 200 and body["stored"] is False and _count(world, PolicyRevision) == 2


def test_bureau_imports_a_list_and_the_pool_is_scoped(world: Services, client: TestClient, token: Token) -> None:
    bureau = token("bureau")
    honours = _count(world, Honour)
    bad = csv_file("api-bad", [LIST[0], [wrong_check(NEW), *LIST[1][1:]]]).read_bytes()
    status, body = _upload(client, "/api/v1/pool/imports", bureau, "bad.csv", bad)
    assert status == 422 and body["batch_id"] is None and body["error_count"] == 1
    assert (body["errors"][0]["row"], body["errors"][0]["column"]) == (3, "统一社会信用代码")
    assert _count(world, Honour) == honours  # all or nothing: the good row is not imported either

    good = csv_file("api-good", LIST).read_bytes()
    assert _upload(client, "/api/v1/pool/imports", token("district-donghu"), "list.csv", good)[0] == 403
    status, body = _upload(client, "/api/v1/pool/imports", bureau, "list.csv", good)
    assert status == 201 and (body["created"], body["enterprises_created"], body["offers_made"]) == (2, 1, 2)
    status, body = _upload(client, "/api/v1/pool/imports", bureau, "list.csv", good)
    assert status == 200 and body["same_file_batch"] is not None and _count(world, Honour) == honours + 2

    city = client.get("/api/v1/pool", headers=bureau, params={"q": "测试青山湖接口"}).json()
    assert [(e["uscc"], e["unit_name"], e["open_offers"]) for e in city["items"]] == [(NEW, "青山湖区", 1)]
    xihu = client.get("/api/v1/pool", headers=token("district-xihu"), params={"unit": "qingshanhu"}).json()
    assert NEW not in [e["uscc"] for e in xihu["items"]]  # a district sees its own unit, whatever it asks
    assert client.get("/api/v1/pool", headers=token("applicant-a")).status_code == 403
    assert client.get("/api/v1/pool", headers=bureau, params={"tier": "nope"}).json()["field"] == "tier"


def test_an_enterprise_answers_its_offer_over_the_api(world: Services, client: TestClient, token: Token) -> None:
    assert _upload(client, "/api/v1/pool/imports", token("bureau"), "list.csv",
                   csv_file("api-offers", LIST).read_bytes())[0] == 201
    mine = client.get("/api/v1/offers", headers=token("applicant-a")).json()
    assert [(o["award_type"], o["state"], o["state_zh"]) for o in mine] == [
        ("m2-little-giant-national", "open", "待确认")]
    assert mine[0]["confirm_by"] is not None
    offer = mine[0]["offer_id"]
    other = client.post(f"/api/v1/offers/{offer}/decline", headers=token("applicant-b"))
    assert other.status_code == 404  # another enterprise's offer does not exist for it
    account = {"bank_name": "中国银行南昌分行", "account_name": "南昌精工智能装备有限公司",
               "account_no": "6217000012345678"}
    refused = client.post(f"/api/v1/offers/{offer}/confirm", headers=token("applicant-a"),
                          json={**account, "accept_commitments": False})
    assert refused.status_code == 422 and refused.json()["field"] == "commitments"
    done = client.post(f"/api/v1/offers/{offer}/confirm", headers=token("applicant-a"),
                       json={**account, "accept_commitments": True})
    assert done.status_code == 200 and done.json()["state"] == "confirmed"
    again = client.post(f"/api/v1/offers/{offer}/decline", headers=token("applicant-a"))
    assert again.status_code == 409
    donghu = client.get("/api/v1/offers/figures", headers=token("district-donghu")).json()
    assert [(f["unit_name"], f["made"], f["confirmed"]) for f in donghu] == [("东湖区", 1, 1)]
    city = client.get("/api/v1/offers/figures", headers=token("bureau")).json()
    assert sorted((f["unit_name"], f["made"], f["open"]) for f in city) == [("东湖区", 1, 0), ("青山湖区", 1, 1)]
    assert client.get("/api/v1/offers", headers=token("district-donghu")).json()[0]["enterprise_name"] == (
        "南昌精工智能装备有限公司")
