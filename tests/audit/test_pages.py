"""The auditor's pages and API: replay step through with the path highlighted, the verify status of
the chain and of the signed head statements, the evidence download; read only, readers only."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.web import create_app
from services.audit import anchors, bundles
from services.awards.demo import DEMO_PASSWORD, DemoCase
from services.bootstrap import Services
from tests.audit.conftest import replay_of, sql
from tests.audit.test_tamper import _rewrite_chain_from
from tests.helpers import snapshot

Login = Callable[[str], TestClient]
NOT_READERS = ("applicant-a", "district-donghu", "bureau", "finance")


@pytest.fixture
def login(services: Services) -> Iterator[Login]:
    clients: list[TestClient] = []

    def make(username: str) -> TestClient:
        c = TestClient(create_app(services), follow_redirects=False)
        clients.append(c)
        assert c.post("/login", data={"username": username, "password": DEMO_PASSWORD}).status_code == 303
        return c

    yield make
    for c in clients:
        c.close()


def _attr(page: str, name: str) -> object:
    match = re.search(rf"{name}='([^']*)'", page)
    assert match, name
    return json.loads(html.unescape(match.group(1)))


def test_replay_page_steps_through_with_the_path_highlighted(services: Services, demo: dict[str, DemoCase],
                                                             login: Login) -> None:
    case = demo["b"].application_id
    expected = replay_of(services, case)
    before = snapshot(services)
    auditor = login("auditor")
    page = auditor.get(f"/audit/cases/{case}/replay?step=2")
    assert page.status_code == 200, page.text
    text = page.text
    assert 'id="verdict"' in text and "回放重现了记录" in text
    assert "第 2 步之后的状态" in text and "补正材料" in text and "correct_application" in text
    steps = text.split('id="steps"', 1)[1].split("</ol>", 1)[0]  # who acted: the name, the username beside it
    assert re.search(r"[\u4e00-\u9fff] <code>district-[a-z]+</code>", steps), steps
    assert not re.search(r"· <code>district-", steps)
    assert "缺少认定文件扫描件" in text  # the reason recorded at this step
    changes = text.split('id="changes"', 1)[1].split("</table>", 1)[0]
    assert "decision" in changes and "reason" in changes
    assert _attr(text, "data-diagram-taken") == list(expected.step(2).path)
    assert _attr(text, "data-diagram-counts") == {"correct_application": 1}
    assert f'data-diagram-src="/audit/cases/{case}/diagram.xml"' in text
    later = auditor.get(f"/audit/cases/{case}/replay?step=3").text
    assert _attr(later, "data-diagram-taken") == list(expected.step(3).path)
    assert len(expected.step(3).path) > len(expected.step(2).path)
    last = auditor.get(f"/audit/cases/{case}/replay").text  # default: the last step
    assert f"第 {len(expected.steps)} 步之后的状态" in last and "end_paid" in last
    assert not re.search(r'<form[^>]*action="/audit', text)  # nothing to submit on the auditor's pages
    assert auditor.post(f"/audit/cases/{case}/replay").status_code in (403, 405)
    assert snapshot(services) == before  # replay wrote nothing
    api = auditor.get(f"/api/v1/audit/cases/{case}/replay?step=2").json()
    assert api["reproduced"] and api["step"]["index"] == 2 and api["step"]["opened"] == ["correct_application"]


def test_replay_page_shows_the_first_differing_step_with_both_sides(services: Services,
                                                                    demo: dict[str, DemoCase],
                                                                    login: Login) -> None:
    case = demo["d"].application_id
    sql(services, "UPDATE work_item SET completed_by = 'mallory' WHERE application_id = :a AND task_spec = "
                  "'bureau_review'", a=case)
    page = login("auditor").get(f"/audit/cases/{case}/replay")
    assert page.status_code == 200
    verdict = html.unescape(page.text.split('id="verdict"', 1)[1].split("</div>", 1)[0])
    assert "回放与记录不符" in verdict and "第 3 步" in verdict
    assert '"completed_by": "mallory"' in verdict and '"completed_by": "bureau"' in verdict
    assert "第 3 步之后的状态" in page.text  # opens at the first difference
    # the difference in plain Chinese, naming the step by its label with its id only in a <code> beside it
    raw = page.text.split('id="verdict"', 1)[1].split("</div>", 1)[0]
    assert "（市中小企业局复审 <code>bureau_review</code>）的存储记录（办理人、时间或状态）与办理它的事件" in raw
    assert "待办记录 <code" in raw  # what was compared, by its name
    prose = re.sub(r"<code[^>]*>.*?</code>", "", raw, flags=re.S)
    prose = re.sub(r"<[^>]+>", "", prose)
    assert not re.search(r"[A-Za-z]{3,}", html.unescape(prose)), prose
    here = page.text.split('id="step"', 1)[1].split('<div class="grid">', 1)[0]
    assert "不符：待办 #" in here and "<code>bureau_review</code>" in here


def test_audit_index_shows_the_signed_statements_status(services: Services, demo: dict[str, DemoCase],
                                                        login: Login) -> None:
    auditor = login("auditor")
    missing = auditor.get("/audit").text  # the demo's events are days old and no statement covers them
    assert "审计链完整" in missing and "尚未记录任何每日签名的链头声明" in missing
    assert "没有任何签名声明覆盖" in missing and "链头声明核验失败" not in missing
    with services.uow() as uow:
        st, _ = anchors.record(uow.session, key=services.settings.audit_signing_key, now=services.clock.now(),
                               timezone=services.settings.timezone)
        uow.commit()
    page = auditor.get("/audit").text
    assert "审计链完整" in page and f"第 {st.seq} 号事件" in page and "签名均有效" in page
    api = auditor.get("/api/v1/audit/verify").json()
    assert api["ok"] and api["statements_ok"] and api["statements_checked"] == 1
    assert api["latest_statement"]["head_hash"] == st.head_hash
    _rewrite_chain_from(services, 5)  # the chain alone still verifies
    page = auditor.get("/audit").text
    assert "审计链完整" in page and "链头声明核验失败" in page and "声明之后审计链被改写" in page
    api = auditor.get("/api/v1/audit/verify").json()
    assert api["ok"] and not api["statements_ok"] and "被改写" in api["statement_problems"][0]


def test_evidence_download_checks_offline(services: Services, demo: dict[str, DemoCase], login: Login,
                                          tmp_path: Path) -> None:
    case = demo["e"].application_id
    got = login("auditor").get(f"/audit/cases/{case}/evidence")
    assert got.status_code == 200 and "attachment" in got.headers["content-disposition"]
    path = tmp_path / "e.json"
    path.write_bytes(got.content)
    report = bundles.check_bundle(path, signing_key=services.settings.audit_signing_key)
    assert report.ok and report.replay is not None and report.replay.reproduced


def test_only_readers_reach_replay_and_evidence(services: Services, demo: dict[str, DemoCase], login: Login) -> None:
    case = demo["a"].application_id
    urls = (f"/audit/cases/{case}/replay", f"/audit/cases/{case}/evidence", f"/api/v1/audit/cases/{case}/replay")
    for name in NOT_READERS:
        c = login(name)
        for url in urls:
            assert c.get(url).status_code == 403, (name, url)
    for name in ("auditor", "manager", "admin"):
        assert login(name).get(urls[0]).status_code == 200, name
    auditor = login("auditor")
    assert auditor.get("/audit/cases/999999/replay").status_code == 404
    bad = auditor.get(f"/audit/cases/{case}/replay?step=99")
    assert bad.status_code in (400, 422) and "步骤" in bad.text and "Traceback" not in bad.text
    assert auditor.get(f"/api/v1/audit/cases/{case}/replay?step=0").status_code in (400, 422)


def _path_line(page: str) -> str:
    match = re.search(r'<p id="case-path">已经过：(.*?)[；<]', page)
    assert match, page
    return match.group(1)


def test_timeline_path_follows_the_recorded_events_in_order(demo: dict[str, DemoCase], login: Login) -> None:
    """已经过 lists each node when its event passed it, repeats kept: the public notice before the
    timer that ended it, a district check done twice after a return twice."""
    auditor = login("auditor")
    paid = auditor.get(f"/audit/cases/{demo['a'].application_id}")
    assert _path_line(paid.text) == "提交申请 → 区县初审 → 市中小企业局复审 → 公示 → 公示期满 → 财政拨付 → 已拨付"
    returned = auditor.get(f"/audit/cases/{demo['b'].application_id}")
    assert _path_line(returned.text) == ("提交申请 → 区县初审 → 补正材料 → 区县初审 → 市中小企业局复审 → 公示 → "
                                         "公示期满 → 财政拨付 → 已拨付")
    objection = auditor.get(f"/audit/cases/{demo['e'].application_id}")
    assert _path_line(objection.text) == ("提交申请 → 区县初审 → 市中小企业局复审 → 公示 → 市中小企业局复审 → 公示 → "
                                          "公示期满 → 财政拨付 → 已拨付")


def test_an_altered_archive_bundle_is_named_in_chinese_on_the_pages(services: Services, demo: dict[str, DemoCase],
                                                                    login: Login) -> None:
    """The evidence-bundle check as the pages show it (issue 13): an archived case whose bundle was
    altered cannot be replayed nor downloaded, and the page says so in Chinese, naming the bundle."""
    from datetime import timedelta

    from services.audit import retention
    from tests.helpers import clock

    clock(services).advance(timedelta(days=services.settings.retention_days + 1))
    victim = retention.archive(services, now=services.clock.now()).archived[0]
    path = Path(services.settings.data_dir) / victim.path
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x01
    path.write_bytes(bytes(data))
    auditor = login("auditor")
    for url in (f"/audit/cases/{victim.application_id}/replay", f"/audit/cases/{victim.application_id}/evidence"):
        page = auditor.get(url)
        assert page.status_code == 400, (url, page.status_code)
        said = html.unescape(page.text.split("<main", 1)[1])
        assert f"归档证据包 {victim.path} 被改动" in said, said
        assert not re.search(r"\b(altered|archive bundle|does not match)\b", said)
