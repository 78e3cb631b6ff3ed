"""The applicant over HTTP: register the enterprise, record honours, see what may be claimed, apply
with files, follow, correct and resubmit, download; scope, upload limits, escaping and CSRF."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from services.accounts import users
from services.awards.demo import DEMO_PASSWORD, demo_uscc
from services.bootstrap import Services
from services.db.models import Call, Document
from tests.helpers import act, apply_for, pass_public_notice, snapshot
from tests.web.conftest import csrf_of

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(32)
HTML = b"<!doctype html><html><script>alert(1)</script></html>"
XSS = "<script>alert('x')</script>"
AWARD = "m2-little-giant-national"
Login = Callable[[str], TestClient]
Token = Callable[[str], dict[str, str]]


def _call_id(world: Services) -> int:
    with world.uow() as uow:
        return uow.session.scalars(select(Call.id)).one()


def _documents(world: Services) -> list[Document]:
    with world.uow() as uow:
        return list(uow.session.scalars(select(Document).order_by(Document.id)))


def _blobs(world: Services) -> list[str]:
    root = world.settings.data_dir / "files"
    return [p.name for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _new_applicant(world: Services, username: str) -> None:
    with world.uow() as uow:
        users.create_user(uow.session, hasher=world.password_hasher, username=username, display_name="新申报人",
                          role="applicant", password=DEMO_PASSWORD, allow_unbound=True)
        uow.commit()


def _post(c: TestClient, url: str, page: str, data: dict[str, str]) -> httpx.Response:
    return c.post(url, data={**data, "csrf_token": csrf_of(c.get(page).text)})


def _api_apply(world: Services, client: TestClient, headers: dict[str, str], honour_id: int) -> int:
    r = client.post("/api/v1/applications", headers=headers, json={
        "call_id": _call_id(world), "award_type": AWARD, "honour_id": honour_id, "requested_fen": 250_000_00,
        "description": "API 申报"})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _honour_of(client: TestClient, headers: dict[str, str]) -> int:
    return int(client.get("/api/v1/enterprise", headers=headers).json()["honours"][0]["id"])


def test_applicant_main_path_over_the_pages(world: Services, login: Login) -> None:
    _new_applicant(world, "newco")
    c = login("newco")
    assert c.get("/my").headers["location"] == "/enterprise"  # nothing to follow before registering
    bad = _post(c, "/enterprise", "/enterprise", {"uscc": "91360100MA0000001X", "name": "x", "review_unit": "donghu"})
    assert bad.status_code == 422 and "统一社会信用代码" in bad.text and "校验码" in bad.text
    ok = _post(c, "/enterprise", "/enterprise", {"uscc": demo_uscc(70), "name": f"新材料{XSS}有限公司",
                                                 "review_unit": "donghu", "email": "newco@example.com"})
    assert ok.status_code == 303
    r = _post(c, "/enterprise/honours", "/enterprise", {"honour_type": "little_giant", "level": "national",
                                                        "recognised_on": "2023-07-14",
                                                        "document_no": f"工信部企业函〔2023〕{XSS}号"})
    assert r.status_code == 303
    page = c.get("/enterprise").text
    assert "新材料&lt;script&gt;" in page and "〔2023〕&lt;script&gt;" in page and XSS not in page

    calls = c.get("/calls").text
    assert "专精特新“小巨人”企业" in calls and "300,000.00" in calls and "可申报" in calls
    assert "尚未登记所需荣誉：制造业单项冠军企业（国家级）" in calls
    link = re.search(r'href="(/calls/\d+/apply\?award=m2-little-giant-national)"', calls)
    assert link
    form = c.get(link.group(1)).text
    honour_id = re.search(r'name="honour_id".*?value="(\d+)"', form, re.S)
    assert honour_id
    r = c.post(link.group(1).split("?")[0], data={
        "csrf_token": csrf_of(form), "award": AWARD, "honour_id": honour_id.group(1), "requested_yuan": "280,000",
        "description": f"说明{XSS}"}, files=[("files", ("营业执照.pdf", PDF, "application/pdf")),
                                             ("files", ("证书.png", PNG, "image/png"))])
    assert r.status_code == 303, r.text
    detail_url = r.headers["location"].split("?")[0]
    app_id = int(detail_url.rsplit("/", 1)[1])
    detail = c.get(detail_url).text
    assert "区县初审" in detail and "剩余" in detail and "个工作日" in detail and "说明&lt;script&gt;" in detail
    assert "营业执照.pdf" in detail and "280,000.00" in detail
    my = c.get("/my").text
    assert f"#{app_id}" in my and 'class="badge running"' in my

    doc = _documents(world)[0]
    dl = c.get(f"/documents/{doc.id}")
    assert dl.status_code == 200 and dl.content == PDF and dl.headers["content-type"] == "application/pdf"
    assert dl.headers["content-disposition"].startswith("attachment;") and "filename*=UTF-8''" in \
        dl.headers["content-disposition"]
    assert dl.headers["x-content-type-options"] == "nosniff"

    act(world, app_id, "district-donghu", "return", reason=f"缺少审计报告{XSS}")
    detail = c.get(detail_url).text
    assert "退回补正" in detail and "缺少审计报告&lt;script&gt;" in detail and "待补正" in detail
    assert XSS not in detail
    r = c.post(f"{detail_url}/resubmit", data={"csrf_token": csrf_of(detail), "description": "已补充审计报告"},
               files=[("files", ("审计报告.pdf", PDF + b"%audit", "application/pdf"))])
    assert r.status_code == 303, r.text
    detail = c.get(detail_url).text
    assert "重新提交" in detail and "审计报告.pdf" in detail and "已补充审计报告" in detail
    assert 'id="correct"' not in detail  # nothing left to correct

    act(world, app_id, "district-donghu", "approve")
    act(world, app_id, "bureau", "approve", amount_fen=250_000_00)
    pass_public_notice(world)
    act(world, app_id, "finance", "pay", reference="PAY-2024-0100")
    detail = c.get(detail_url).text
    assert "已拨付" in detail and 'class="badge paid"' in detail and "250,000.00" in detail
    assert [h in detail for h in ("区县初审", "市中小企业局复审", "期满", "拨付")] == [True] * 4


def test_applicant_main_path_over_the_api(world: Services, client: TestClient, token: Token) -> None:
    _new_applicant(world, "apico")
    h = token("apico")
    assert client.get("/api/v1/enterprise", headers=h).status_code == 404
    r = client.post("/api/v1/enterprise", headers=h, json={"uscc": demo_uscc(71), "name": "接口企业",
                                                           "review_unit": "xihu"})
    assert r.status_code == 201 and r.json()["review_unit_zh"] == "西湖区"
    again = client.post("/api/v1/enterprise", headers=h, json={"uscc": demo_uscc(72), "name": "二",
                                                               "review_unit": "xihu"})
    assert again.status_code == 409
    bad = client.post("/api/v1/honours", headers=h, json={"honour_type": "gold_medal", "level": "national",
                                                          "recognised_on": "2023-01-01", "document_no": "1"})
    assert bad.status_code == 422 and bad.json()["field"] == "honour_type"
    r = client.post("/api/v1/honours", headers=h, json={"honour_type": "little_giant", "level": "national",
                                                        "recognised_on": "2023-07-14", "document_no": "文号1"})
    assert r.status_code == 201 and r.json()["level_zh"] == "国家级"
    [call] = client.get("/api/v1/calls", headers=h).json()
    offer = next(a for a in call["awards"] if a["code"] == AWARD)
    assert offer["eligible"] and offer["cap_fen"] == 30_000_000 and offer["honour_ids"] == [r.json()["id"]]
    over = client.post("/api/v1/applications", headers=h, json={
        "call_id": call["id"], "award_type": AWARD, "honour_id": r.json()["id"], "requested_fen": 30_000_001})
    assert over.status_code == 422 and over.json()["field"] == "amount"
    app_id = _api_apply(world, client, h, r.json()["id"])
    up = client.post(f"/api/v1/applications/{app_id}/documents", headers=h,
                     files=[("files", ("证书.pdf", PDF, "application/pdf"))])
    assert up.status_code == 201 and up.json()[0]["sha256"] and up.json()[0]["content_type"] == "application/pdf"
    listed = client.get("/api/v1/applications", headers=h).json()
    assert [a["id"] for a in listed] == [app_id] and listed[0]["stage_name"] == "区县初审"
    one = client.get(f"/api/v1/applications/{app_id}", headers=h).json()
    assert one["documents"][0]["filename"] == "证书.pdf" and one["open_steps"][0]["office"] == "西湖区"
    dl = client.get(one["documents"][0]["url"], headers=h)
    assert dl.status_code == 200 and dl.content == PDF and dl.headers["x-content-type-options"] == "nosniff"

    act(world, app_id, "district-xihu", "return", reason="请补充说明")
    one = client.get(f"/api/v1/applications/{app_id}", headers=h).json()
    assert one["can_resubmit"] and one["history"][0] == {**one["history"][0], "outcome": "return",
                                                         "outcome_zh": "退回补正", "reason": "请补充说明"}
    r = client.post(f"/api/v1/applications/{app_id}/resubmit", headers=h, json={"description": "已补充"})
    assert r.status_code == 200 and r.json()["stage"] == "district_check" and r.json()["description"] == "已补充"
    assert client.post(f"/api/v1/applications/{app_id}/resubmit", headers=h, json={}).status_code == 409
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/calls", "/api/v1/enterprise", "/api/v1/honours", "/api/v1/applications",
                 "/api/v1/applications/{application_id}", "/api/v1/applications/{application_id}/documents",
                 "/api/v1/documents/{document_id}"):
        assert path in paths


def test_another_enterprise_application_and_file_answer_404(world: Services, client: TestClient, token: Token,
                                                            login: Login) -> None:
    a, b = token("applicant-a"), token("applicant-b")
    app_id = _api_apply(world, client, a, _honour_of(client, a))
    client.post(f"/api/v1/applications/{app_id}/documents", headers=a,
                files=[("files", ("a.pdf", PDF, "application/pdf"))])
    doc_id = _documents(world)[0].id
    for url in (f"/api/v1/applications/{app_id}", f"/api/v1/documents/{doc_id}"):
        assert client.get(url, headers=b).status_code == 404
        assert client.get(url, headers=token("district-xihu")).status_code == 404
        assert client.get(url, headers=token("district-donghu")).status_code == 200
        assert client.get(url, headers=token("bureau")).status_code == 200
    guessed = client.get(f"/api/v1/documents/{doc_id + 1}", headers=b)
    foreign = client.get(f"/api/v1/documents/{doc_id}", headers=b)
    assert guessed.status_code == foreign.status_code == 404
    assert guessed.json() == {"detail": f"附件 #{doc_id + 1} 不存在"}
    assert client.get("/api/v1/applications", headers=b).json() == []
    up = client.post(f"/api/v1/applications/{app_id}/documents", headers=b,
                     files=[("files", ("b.pdf", PDF, "application/pdf"))])
    assert up.status_code == 404 and len(_documents(world)) == 1
    assert client.post(f"/api/v1/applications/{app_id}/resubmit", headers=b, json={}).status_code == 404
    pages = login("applicant-b")
    assert pages.get(f"/my/applications/{app_id}").status_code == 404
    assert pages.get(f"/documents/{doc_id}").status_code == 404
    assert client.post("/api/v1/applications", headers=token("auditor"), json={
        "call_id": _call_id(world), "award_type": AWARD, "honour_id": 1, "requested_fen": 1}).status_code == 403


@pytest.mark.parametrize(("name", "content", "rule"), [
    ("page.pdf", HTML, "不是 PDF、JPEG 或 PNG"),
    ("photo.pdf", PNG, "扩展名与内容"),
    ("huge.pdf", PDF + bytes(10 * 1024 * 1024), "超过大小上限 10 MB"),
])
def test_bad_uploads_are_rejected_and_nothing_is_stored(world: Services, client: TestClient, token: Token,
                                                        login: Login, name: str, content: bytes, rule: str) -> None:
    a = token("applicant-a")
    app_id = _api_apply(world, client, a, _honour_of(client, a))
    before = snapshot(world)
    r = client.post(f"/api/v1/applications/{app_id}/documents", headers=a,
                    files=[("files", ("ok.pdf", PDF, "application/pdf")),
                           ("files", (name, content, "application/pdf"))])
    assert r.status_code == 422 and r.json()["field"] == "files" and rule in r.json()["rule"]
    c = login("applicant-c")
    form_url = f"/calls/{_call_id(world)}/apply"
    page = c.get(f"{form_url}?award=m2-srdi-sme-city").text
    honour_id = re.search(r'name="honour_id".*?value="(\d+)"', page, re.S)
    assert honour_id
    r = c.post(form_url, data={"csrf_token": csrf_of(page), "award": "m2-srdi-sme-city",
                               "honour_id": honour_id.group(1), "requested_yuan": "50000"},
               files=[("files", (name, content, "application/pdf"))])
    assert r.status_code == 422 and "附件" in r.text and rule in r.text
    assert snapshot(world) == before and _blobs(world) == []  # no application, no document, no file


def test_too_many_files_and_an_empty_file_input(world: Services, client: TestClient, token: Token,
                                                login: Login) -> None:
    a = token("applicant-a")
    app_id = _api_apply(world, client, a, _honour_of(client, a))
    eleven = [("files", (f"{i}.pdf", PDF, "application/pdf")) for i in range(11)]
    r = client.post(f"/api/v1/applications/{app_id}/documents", headers=a, files=eleven)
    assert r.status_code == 422 and r.json()["field"] == "files" and "最多 10 个" in r.json()["rule"]
    empty = client.post(f"/api/v1/applications/{app_id}/documents", headers=a,
                        files=[("files", ("", b"", "application/octet-stream"))])
    assert empty.status_code == 422 and "files" in str(empty.json()["detail"])  # not a file at all
    assert _documents(world) == []
    c = login("applicant-a")  # a browser's form with no file chosen sends an empty part: fine
    page = c.get(f"/my/applications/{app_id}").text
    r = c.post(f"/my/applications/{app_id}/documents", data={"csrf_token": csrf_of(page)},
               files=[("files", ("", b"", "application/octet-stream"))])
    assert r.status_code == 422 and "请选择要上传的文件" in r.text
    r = c.post(f"/my/applications/{app_id}/documents", data={"csrf_token": csrf_of(page)},
               files=[("files", ("", b"", "application/octet-stream")), ("files", ("x.pdf", PDF, "application/pdf"))])
    assert r.status_code == 303 and [d.filename for d in _documents(world)] == ["x.pdf"]


def test_forms_need_the_csrf_token(world: Services, login: Login) -> None:
    _new_applicant(world, "csrfco")
    c = login("csrfco")
    before = snapshot(world)
    posts = [("/enterprise", {"uscc": demo_uscc(73), "name": "x", "review_unit": "donghu"}),
             ("/enterprise/honours", {"honour_type": "little_giant", "level": "national",
                                      "recognised_on": "2023-01-01", "document_no": "1"}),
             (f"/calls/{_call_id(world)}/apply", {"award": AWARD, "honour_id": "1", "requested_yuan": "1"}),
             ("/my/applications/1/resubmit", {"description": "x"}), ("/my/applications/1/documents", {})]
    for url, data in posts:
        for token in (None, "forged"):
            sent = {**data, **({"csrf_token": token} if token else {})}
            r = c.post(url, data=sent, files=[("files", ("a.pdf", PDF, "application/pdf"))])
            assert r.status_code == 403 and "CSRF" in r.text, url
    assert snapshot(world) == before


def test_pages_escape_what_others_typed(world: Services, login: Login, client: TestClient, token: Token) -> None:
    a = token("applicant-a")
    app_id = _api_apply(world, client, a, _honour_of(client, a))
    client.post(f"/api/v1/applications/{app_id}/documents", headers=a,
                files=[("files", (f"{XSS}.pdf", PDF, "application/pdf"))])
    act(world, app_id, "district-donghu", "reject", reason=f"<img src=x onerror=alert(1)>{XSS}")
    c = login("applicant-a")
    for url in ("/my", f"/my/applications/{app_id}", "/calls", "/enterprise"):
        page = c.get(url)
        assert page.status_code == 200 and XSS not in page.text and "<img src=x" not in page.text, url
    detail = c.get(f"/my/applications/{app_id}").text
    assert "&lt;img src=x onerror=alert(1)&gt;" in detail and 'class="badge rejected"' in detail
    assert "不予通过" in detail
    dl = c.get(f"/documents/{_documents(world)[0].id}")
    assert "attachment" in dl.headers["content-disposition"] and "<" not in dl.headers["content-disposition"]


def test_a_refused_application_comes_back_as_the_form_with_the_input_kept(world: Services, login: Login) -> None:
    """Over the cap, then a file that is no PDF: each time the form again (not an error page), naming the
    field and the rule, with the amount and the description as typed; nothing stored."""
    c = login("applicant-c")
    form_url = f"/calls/{_call_id(world)}/apply"
    page = c.get(f"{form_url}?award=m2-srdi-sme-city").text
    honour_id = re.search(r'name="honour_id".*?value="(\d+)"', page, re.S)
    assert honour_id
    before = snapshot(world)
    typed = {"award": "m2-srdi-sme-city", "honour_id": honour_id.group(1), "description": "本企业2023年获评"}
    over = c.post(form_url, data={**typed, "csrf_token": csrf_of(page), "requested_yuan": "60,000"},
                  files=[("files", ("ok.pdf", PDF, "application/pdf"))])
    assert over.status_code == 422
    assert 'id="apply-error"' in over.text and "申请金额 60,000.00 元超过上限 50,000.00 元" in over.text
    assert 'value="60,000"' in over.text and "本企业2023年获评</textarea>" in over.text
    assert f'value="{honour_id.group(1)}" selected' in over.text and "附件需重新选择" in over.text
    bad_file = c.post(form_url, data={**typed, "csrf_token": csrf_of(over.text), "requested_yuan": "45,000"},
                      files=[("files", ("page.pdf", HTML, "application/pdf"))])
    assert bad_file.status_code == 422 and "不是 PDF、JPEG 或 PNG" in bad_file.text
    assert 'value="45,000"' in bad_file.text and "本企业2023年获评</textarea>" in bad_file.text
    assert snapshot(world) == before and _blobs(world) == []


def test_a_refused_correction_keeps_what_was_typed(world: Services, login: Login) -> None:
    app_id = apply_for(world, "南昌精工智能装备有限公司", AWARD, 300_000_00)
    act(world, app_id, "district-donghu", "return", reason="缺少审计报告")
    c = login("applicant-a")
    page = c.get(f"/my/applications/{app_id}").text
    before = snapshot(world)
    r = c.post(f"/my/applications/{app_id}/resubmit",
               data={"csrf_token": csrf_of(page), "description": "已补充审计报告"},
               files=[("files", ("审计报告.pdf", HTML, "application/pdf"))])
    assert r.status_code == 422 and 'id="correct-error"' in r.text and "不是 PDF、JPEG 或 PNG" in r.text
    assert "已补充审计报告</textarea>" in r.text and "退回意见" in r.text  # the page, not an error page
    assert snapshot(world) == before
