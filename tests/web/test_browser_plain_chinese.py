"""Every page, as every demo role, in a real browser: no visible text looks like an identifier (issue 13,
item 6), and the pages are usable on a phone.

The world is what `make demo` leaves (every award path, the 2025 round on the demo clock, the arrears
campaign) plus one case in its public notice. Each role signs in and follows every link it is offered
(one or two of each kind of page, so the scan stays moderate), and a few pages a person meets by
mistake (a missing case, a page of another role). On each page the text a person can see (text nodes,
the diagram's SVG labels, button captions, placeholders; not `<code>`, `<pre>`, scripts, nor hidden
elements) is split into tokens; a token fails when it looks like an identifier: an ASCII word with `_`
or a `.` between letters (`case.start`, `little_giant`), or a known code (role, unit, award, decision,
status, lane, event kind) standing on its own. ALLOWED is the short list of exceptions.

Screenshots of every page of every role are kept under test-artifacts/screenshots/plain-chinese-<db>/,
at 1366 px and 390 px wide; at 390 px the applicant pages must not scroll sideways.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from config.settings import Settings
from services.accounts.users import ROLES
from services.arrears.actions import DECISION_NAMES as ARREARS_DECISIONS
from services.arrears.demo import ArrearsDemo
from services.audit.kinds import KIND_LABELS
from services.awards import labels
from services.awards.demo import DEMO_PASSWORD, Demo
from services.bootstrap import Services, build
from services.db.models import AwardType, ReviewUnit
from services.engine.lanes import LANE_ROLES
from tests.helpers import needs_chromium, served
from tests.web.test_browser_award_path import ARTIFACTS

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

pytestmark = needs_chromium

#: one account of every role the demo has (and the arrears desks): who reads which pages
USERS = ["applicant-a", "applicant-g", "district-donghu", "district-xihu", "bureau", "finance", "manager", "auditor",
         "admin"]
#: pages a person reaches by typing or by an old link: a missing case, another role's page
DETOURS = ["/account", "/arrears", "/arrears/dashboard"]
#: and, for two of them (one applicant, one officer), the error pages: a missing case, another role's page
ERRORS = {"applicant-a": ["/tasks/999999", "/admin", "/audit/cases/1"],
          "bureau": ["/my/applications/999999", "/calls/999999/apply", "/arrears/cases/999999", "/enterprise"]}
#: not pages for reading (downloads, exports, the API's own docs), or leaving the session
SKIP = re.compile(r"\.(csv|xlsx|json|xml|bpmn|pdf|png|jpe?g)$|^/logout|^/static/|^/documents/|/evidence$|^/api/")
PER_KIND = 2  # pages of one kind (same path with the numbers taken out) scanned per role; 1 with a query
MAX_PAGES = 40  # per role
WIDE, PHONE = 1366, 390
SHOT = {"type": "jpeg", "quality": 70, "animations": "disabled", "caret": "hide"}  # JPEG: a third of PNG's time
#: the exceptions: written out, each with its reason
ALLOWED = {
    "bpmn.io",  # the diagram viewer's watermark, which its licence requires to stay visible
}
ALLOWED_PATTERNS = [
    re.compile(r"^[\w.+-]+@[\w-]+(\.[\w-]+)+$"),  # a mail address is data, not a code
    re.compile(r"\.(pdf|png|jpe?g)$", re.I),  # the name of a file the applicant uploaded
]
#: what a machine calls a file's type or size, not a person: application/pdf, MiB
MACHINE = re.compile(r"(application|image|text)/[\w.+-]+|MiB|KiB")
TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-/:@+]*[A-Za-z0-9_]|[A-Za-z]")
# the text a person can see: every visible text node outside code/pre/script/style (SVG labels included),
# button captions, placeholders and option texts
VISIBLE_TEXT = """() => {
  const hidden = new Set(['CODE', 'PRE', 'SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'TITLE', 'KBD', 'SAMP']);
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.nodeValue.trim();
    if (!text) continue;
    let el = node.parentElement, skip = false;
    for (let e = el; e; e = e.parentElement) { if (hidden.has(e.tagName.toUpperCase())) { skip = true; break; } }
    if (skip) continue;
    if (el.tagName.toUpperCase() === 'OPTION') { out.push(text); continue; }
    if (el.checkVisibility && !el.checkVisibility({visibilityProperty: true, opacityProperty: true})) continue;
    out.push(text);
  }
  for (const el of document.querySelectorAll('input[placeholder], textarea[placeholder]')) out.push(el.placeholder);
  for (const el of document.querySelectorAll('input[type=submit], input[type=button]')) out.push(el.value);
  return out;
}"""


@dataclass
class Finding:
    user: str
    path: str
    token: str
    text: str


@dataclass
class Crawl:
    user: str
    pages: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    too_wide: list[str] = field(default_factory=list)  # pages that scroll sideways at 390 px
    refused: list[str] = field(default_factory=list)  # what the pages' Content-Security-Policy blocked


def known_codes(services: Services) -> set[str]:
    """Codes that read as identifiers even without `_` or `.`: roles, units, awards, decisions, statuses,
    lanes, event kinds."""
    with services.uow() as uow:
        units = set(uow.session.scalars(select(ReviewUnit.code)))
        awards = set(uow.session.scalars(select(AwardType.code)))
    return (set(ROLES) | units | awards | set(labels.DECISION) | set(labels.STATUS) | set(ARREARS_DECISIONS)
            | set(LANE_ROLES.values()) | set(KIND_LABELS) | {"open", "closed", "completed", "pending", "sent"})


def offenders(texts: list[str], codes: set[str]) -> list[tuple[str, str]]:
    """(token, the text it stands in) for every token that looks like an identifier."""
    found = []
    for text in texts:
        for token in TOKEN.findall(text):
            token = token.rstrip(".:/")
            if token in ALLOWED or any(p.search(token) for p in ALLOWED_PATTERNS):
                continue
            if "_" in token or re.search(r"[A-Za-z]\.[A-Za-z]", token) or token in codes or MACHINE.fullmatch(token):
                found.append((token, text[:120]))
    return found


def test_identifier_scan_flags_codes_and_passes_plain_chinese() -> None:
    codes = {"bureau", "donghu", "case.start"}
    assert offenders(["流程 award_base", "事件 case.start", "（bureau）", "东湖区 donghu", "application/pdf",
                      "10 MiB"], codes) == [
        ("award_base", "流程 award_base"), ("case.start", "事件 case.start"), ("bureau", "（bureau）"),
        ("donghu", "东湖区 donghu"), ("application/pdf", "application/pdf"), ("MiB", "10 MiB")]
    assert offenders(["市中小企业局复审员", "2024年7月4日（周四）前，剩余 3 个工作日", "300,000.00 元", "PDF，1.2 MB",
                      "a@example.com", "认定文件.pdf", "PAY-2024-0001", "bpmn.io"], codes) == []


def pattern(path: str) -> str:
    """The kind of a page: its path with the numbers (and a user's name) taken out."""
    return re.sub(r"^/admin/users/[^/?]+", "/admin/users/{u}", re.sub(r"\d+", "{n}", path))


@pytest.fixture
def full_demo(services: Services) -> Iterator[Services]:
    """`make demo`: every award path, the 2025 round on the demo clock, the arrears campaign; and the
    newcomer's application in its public notice. Served as every entry point wires it: on the demo clock."""
    from tests.democlock import newcomer_to_public_notice

    demo = Demo(services, echo=False)
    demo.load()
    demo.run()
    ArrearsDemo(services, echo=False).load()
    demo.prepare_today()
    s = services.settings
    on_clock = build(Settings(database_url=s.database_url, environment="test", data_dir=s.data_dir,
                              argon2_time_cost=1, argon2_memory_kib=64))
    newcomer_to_public_notice(on_clock)
    yield on_clock
    on_clock.db.dispose()


@pytest.fixture
def served_demo(full_demo: Services) -> Iterator[str]:
    with served(full_demo) as url:
        yield url


@pytest.fixture
def shots() -> Path:
    db = "postgres" if os.environ.get("SMEFLOW_TEST_DATABASE_URL", "").startswith("postgresql") else "sqlite"
    folder = ARTIFACTS / "screenshots" / f"plain-chinese-{db}"
    folder.mkdir(parents=True, exist_ok=True)
    for old in [*folder.glob("*.png"), *folder.glob("*.jpg")]:
        old.unlink()
    return folder


def sign_in(context: BrowserContext, base: str, username: str) -> Page:
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "/login" not in page.url, f"{username} could not sign in"
    return page


def settle(page: Page) -> None:
    """Wait for a diagram to be drawn (its labels are text a person reads too)."""
    if page.locator("[data-diagram-src]").count():
        page.wait_for_selector("[data-diagram-ready=true], [data-diagram-src] .alert", timeout=15_000)


def links(page: Page, base: str) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]:not([download])", "els => els.map(a => a.getAttribute('href'))")
    found = []
    for href in hrefs:
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not parts.path.startswith("/") or SKIP.search(parts.path):
            continue
        found.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def crawl(browser: Browser, base: str, username: str, codes: set[str], folder: Path) -> Crawl:
    """Follow every link the user is offered (PER_KIND pages of each kind) and scan each; photograph the
    first page of each kind at 1366 px, then at 390 px (the same page, the window narrowed: the layout
    and the diagram follow the width) and note whether it scrolls sideways there."""
    result = Crawl(username)
    context = browser.new_context(viewport={"width": WIDE, "height": 900}, locale="zh-CN")
    context.on("console", lambda m: result.refused.append(m.text) if "Content Security Policy" in m.text else None)
    page = sign_in(context, base, username)
    queue = [urlsplit(page.url).path, *DETOURS, *ERRORS.get(username, [])]
    seen: set[str] = set()
    kinds: dict[str, int] = {}
    while queue and len(result.pages) < MAX_PAGES:
        path = queue.pop(0)
        kind = pattern(path.split("?")[0]) + ("?" if "?" in path else "")
        if path in seen or kinds.get(kind, 0) >= (1 if "?" in kind else PER_KIND):
            continue
        seen.add(path)
        kinds[kind] = kinds.get(kind, 0) + 1
        response = page.goto(base + path)
        if response is None or "text/html" not in (response.headers.get("content-type") or ""):
            continue
        settle(page)
        result.pages.append(path)
        for token, text in offenders(page.evaluate(VISIBLE_TEXT), codes):
            result.findings.append(Finding(username, path, token, text))
        if kinds[kind] == 1:
            name = re.sub(r"[^\w]+", "_", path.strip("/")) or "start"
            page.screenshot(path=str(folder / f"{username}-{name}-{WIDE}.jpg"), full_page=True, **SHOT)
            page.set_viewport_size({"width": PHONE, "height": 844})
            page.wait_for_timeout(150)  # the diagram refits on resize
            page.screenshot(path=str(folder / f"{username}-{name}-{PHONE}.jpg"), full_page=True, **SHOT)
            if page.evaluate("document.documentElement.scrollWidth") > PHONE + 1:
                result.too_wide.append(path)
            page.set_viewport_size({"width": WIDE, "height": 900})
        queue.extend(link for link in links(page, base) if link not in seen)
    context.close()
    return result


def test_every_page_as_every_role_reads_plain_chinese(full_demo: Services, served_demo: str, chromium_browser: Browser,
                                                       shots: Path) -> None:
    codes = known_codes(full_demo)
    findings: list[Finding] = []
    too_wide: dict[str, list[str]] = {}
    refused: dict[str, list[str]] = {}
    for username in USERS:
        crawl_result = crawl(chromium_browser, served_demo, username, codes, shots)
        assert len(crawl_result.pages) >= 3, (username, crawl_result.pages)
        findings.extend(crawl_result.findings)
        if username.startswith("applicant-") and crawl_result.too_wide:
            too_wide[username] = crawl_result.too_wide
        if crawl_result.refused:
            refused[username] = crawl_result.refused[:5]
    first: dict[tuple[str, str], Finding] = {}
    for f in findings:
        first.setdefault((pattern(f.path.split("?")[0]), f.token), f)
    report = "\n".join(sorted(f"{f.path} ({f.user}): {f.token!r} in {f.text!r}" for f in first.values()))
    (shots / "identifiers.txt").write_text(report + "\n", encoding="utf-8")
    assert not findings, f"identifiers a person would read:\n{report}"
    assert not too_wide, f"applicant pages wider than {PHONE} px: {too_wide}"
    assert not refused, f"blocked by the pages' Content-Security-Policy (issue 12 item 8): {refused}"
    public_notice_reads_as_a_period(chromium_browser, served_demo)


def public_notice_reads_as_a_period(browser: Browser, base: str) -> None:
    """applicant-g's case is in its public notice from Monday 16 June 2025: five working days (17, 18, 19,
    20, 23 June) make the 23rd its last day. It reads as a period that ends by itself, not as work."""
    context = browser.new_context(viewport={"width": PHONE, "height": 844}, locale="zh-CN")
    page = sign_in(context, base, "applicant-g")
    page.goto(f"{base}/my")
    assert "公示至 2025年6月23日（周一）" in page.locator("main").inner_text()
    with page.expect_navigation():
        page.get_by_role("link", name=re.compile(r"^#\d+$")).first.click()
    notice = page.locator("#public-notice").inner_text()
    assert "公示中：2025年6月16日（周一） 至 2025年6月23日（周一）（最后一日）" in notice
    assert "自动转入市财政局拨付" in notice and "剩余" not in notice
    context.close()


# -- pages after a submit, and the API's docs ---------------------------------------------------------
#: /api/docs is the vendored Swagger UI (app/web/static/vendor/swagger-ui, Apache-2.0) drawing
#: /openapi.json: the elements it draws from the document (paths, tag names, parameter and property
#: names, schema names, enum values and defaults, media types, type names) show the API's own
#: identifiers, which a client types or a code generator names classes after; they are read like
#: <code>. The rest of its chrome (Try it out, Parameters, Responses, Schemas, the OAS badge) is the
#: library's own English, allowlisted as such: it is not this service's text and Swagger UI has no
#: translations to switch to without forking the bundle. What the service writes there (titles,
#: summaries, descriptions) is scanned like any page.
SWAGGER_CODE = (".opblock-summary-path, .opblock-summary-operation-id, .parameter__name, .parameter__type, "
                ".parameter__in, .prop-name, .prop-type, .prop-format, .model-title, .model-box-control, "
                ".models-control, .response-col_status, .response-control-media-type, .content-type, "
                ".model-hint, .version, .version-stamp, .url, .link, .info__contact, .servers, .opblock-tag "
                "a.nostyle, .property-row td:first-child, .json-schema-2020-12__title, "
                ".json-schema-2020-12-keyword__name, .json-schema-2020-12-keyword__value, "
                ".json-schema-2020-12__attribute, .json-schema-2020-12-expand-deep-button, select, "
                ".opblock-summary-method, .tab li, .response-col_links, .download-contents, .parameter__enum, "
                ".prop-enum, .parameter__default, .json-schema-2020-12-keyword--enum, "
                ".json-schema-2020-12-keyword--const, .json-schema-2020-12-keyword--default, "
                ".json-schema-2020-12-json-viewer, .json-schema-2020-12-core-keyword__value")
SWAGGER_CHROME = {"OAS", "OAS3", "OAS3.1", "OAS3.0"}


def scan(page: Page, codes: set[str], where: str) -> list[str]:
    """The identifier tokens a person can see on the page, as `where: token in text` lines."""
    return [f"{where}: {token!r} in {text!r}" for token, text in offenders(page.evaluate(VISIBLE_TEXT), codes)]


def test_pages_after_a_submit_and_the_api_docs_read_plain_chinese(world: Services, live_url: str,
                                                                   chromium_browser: Browser, tmp_path: Path) -> None:
    """The pages a person reads after acting: an application submitted (the case page it lands on), a
    decision made (the inbox with its note), a form refused and shown again with the error, and an
    application form refused for a bad amount; then /api/docs, with the vendored Swagger UI's own chrome
    set apart as above."""
    from tests.web.test_browser_award_path import Steps
    from tests.web.test_browser_unstuck import GIANT_AWARD, GIANT_ENTERPRISE, apply, open_step

    codes = known_codes(world)
    found: list[str] = []
    first = sign_in(chromium_browser.new_context(viewport={"width": WIDE, "height": 900}, locale="zh-CN"),
                    live_url, "applicant-a")
    first.goto(f"{live_url}/calls")  # an application form refused: the amount is not a number
    with first.expect_navigation():
        first.locator("tbody tr", has_text=GIANT_AWARD).get_by_role("link", name="申报", exact=True).click()
    first.fill("input[name=requested_yuan]", "三十万")
    first.fill("textarea[name=description]", "申报说明（浏览器测试）")
    with first.expect_navigation():
        first.locator("form[action$='/apply']").locator("button[type=submit]").click()
    assert first.locator(".alert.error").count(), first.locator("main").inner_text()
    found += scan(first, codes, "refused application form")

    applicant, app_id = apply(chromium_browser, live_url, "applicant-a", GIANT_AWARD, "300,000", Steps(tmp_path))
    assert f"/my/applications/{app_id}" in applicant.url
    found += scan(applicant, codes, "submitted application")

    officer = sign_in(chromium_browser.new_context(viewport={"width": WIDE, "height": 900}, locale="zh-CN"),
                      live_url, "district-donghu")
    open_step(officer, app_id, "区县初审", GIANT_ENTERPRISE)
    officer.check("input[name=decision][value=return]")  # return needs a reason: refused, shown again
    with officer.expect_navigation():
        officer.locator("form[action$='/complete']").locator("button[type=submit]").click()
    assert officer.locator(".alert.error").count(), officer.locator("main").inner_text()
    found += scan(officer, codes, "refused decision")
    officer.check("input[name=decision][value=approve]")
    with officer.expect_navigation():
        officer.locator("form[action$='/complete']").locator("button[type=submit]").click()
    assert "/inbox" in officer.url and "案件现处于" in officer.locator("main").inner_text()
    found += scan(officer, codes, "decision made")

    docs = officer.context.new_page()
    docs.goto(f"{live_url}/api/docs")
    docs.wait_for_selector(".opblock", timeout=30_000)
    docs.locator(".opblock-summary").first.click()  # one operation open: its parameters and responses
    docs.wait_for_selector(".opblock.is-open .responses-wrapper", timeout=10_000)
    texts = docs.evaluate(VISIBLE_TEXT.replace(
        "if (skip) continue;",
        f"if (skip || (el.closest && el.closest({SWAGGER_CODE!r}))) continue;"))
    found += [f"/api/docs: {token!r} in {text!r}" for token, text in offenders(texts, codes)
              if token not in SWAGGER_CHROME]
    assert not found, "identifiers a person would read:\n" + "\n".join(found)

