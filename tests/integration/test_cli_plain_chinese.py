"""Every line the `smeflow` CLI prints for a person is plain zh-CN (issue 13): the main commands of a
demo-like flow, run as an operator would, print no English word.

A line may carry what the operator typed or needs to type back (a username, a file path or URL, a
command to type: `smeflow audit anchor`), codes and hashes (a token with a digit in it: `2025-city`,
`m2-srdi-sme-city`, `sha256`, `eb7af1620a20`) and the few tokens of ALLOWED. Any other ASCII word of
three letters or more fails the test, with the command and the line (stdout and stderr both). `--json` output is
machine data and is not read here; so are the findings of `smeflow bpmn validate`, which quote the
diagram's own ids and expressions for whoever draws it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from app.cli import app
from services.awards.demo import DEMO_PASSWORD
from services.bootstrap import Services
from services.db.models import User, WorkItem
from services.db.models_arrears import ArrearsDebtor, ArrearsTask
from tests.arrears.conftest import CREDITOR, TEST_ARRANGEMENT
from tests.policy.editions import successor_text, write
from tests.pool.lists import HEADER, code, csv_file

ROOT = Path(__file__).resolve().parents[2]
#: API: the API tokens are called "API 令牌" on the pages too (the interface's name, not a word to translate)
ALLOWED = frozenset({"API"})
WORD = re.compile(r"[A-Za-z]{3,}")
TOKEN = re.compile(r"[A-Za-z0-9_\-.]+")
COMMAND = re.compile(r"smeflow(?: [a-z][a-z\-]*)+")  # a command the operator is told to type
PATH = re.compile(r"[A-Za-z0-9_\-.:~+@]*/[A-Za-z0-9_\-./:~+@?=%&]*")  # a file path or a URL (with its query)


def english_words(line: str, given: list[str]) -> list[str]:
    """The English words of `line` once backticked commands and the identifiers in `given` are taken out
    (any path or URL; a username or code only as a whole token)."""
    line = COMMAND.sub(" ", PATH.sub(" ", re.sub(r"`[^`]*`", " ", line)))
    return [t for t in TOKEN.findall(line)
            if WORD.search(t) and not any(c.isdigit() for c in t) and t not in ALLOWED and t not in given]


class Flow:
    def __init__(self, services: Services, tmp_path: Path) -> None:
        self.cli, self.services, self.tmp = CliRunner(), services, tmp_path
        self.found: list[str] = []

    def usernames(self) -> list[str]:
        with self.services.uow() as uow:
            return list(uow.session.scalars(select(User.username)))

    def run(self, *args: str, stdin: str | None = None, who: bool = False) -> str:
        """Run `smeflow ARGS`; with `who`, the command names the accounts that acted or may sign in (the
        demo's account list, replay's actors), so every username is an identifier there."""
        result = self.cli.invoke(app, list(args), input=stdin)
        assert result.exit_code == 0, (args, result.output)
        given = [a for a in args if not a.startswith("--")] + [Path(a).name for a in args if "/" in a]
        given += [*self.usernames(), DEMO_PASSWORD] if who else []
        for line in result.output.splitlines():
            words = english_words(line, given)
            if words:
                self.found.append(f"smeflow {' '.join(args)}: {words} in {line!r}")
        return result.output


@pytest.fixture
def flow(services_env: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Flow:
    from config.settings import get_settings

    monkeypatch.setenv("SMEFLOW_ARREARS_ACCEPTANCE_ARRANGEMENT", TEST_ARRANGEMENT)  # the bureau reviews complaints
    get_settings.cache_clear()
    return Flow(services_env, tmp_path)


def test_the_english_word_check_catches_words_and_spares_identifiers() -> None:
    assert english_words("created user chief (admin)", ["chief"]) == ["created", "user", "admin"]
    assert english_words("已写入 /tmp/x/reports/arrears-2025-06.xlsx（共 3 件）", []) == []
    assert english_words("数据库已就绪：sqlite:///tmp/smeflow.db", []) == []
    assert english_words("已创建资金 2025-city：预算 8,000,000.00 元，sha256 eb7af1620a20", []) == []
    assert english_words("请先运行 `smeflow init`；用户 district-donghu", ["district-donghu"]) == []
    assert english_words("API 令牌 3 不存在", []) == []
    assert english_words("运行 smeflow audit anchor 可立即记录一份", []) == []


def test_the_main_commands_print_plain_chinese(flow: Flow, tmp_path: Path) -> None:
    run = flow.run
    run("init")
    run("demo", who=True)
    run("awards")
    run("cases")
    with flow.services.uow() as uow:  # the demo leaves one payout deferred for want of funds
        item = uow.session.scalars(select(WorkItem).where(WorkItem.status == "open")).one()
        assert item.task_spec == "finance_deferred"
    run("tasks", "--user", "finance")
    run("complete", str(item.id), "--user", "finance", "--decision", "return_review", "--reason", "请复核金额")
    run("tasks", "--user", "bureau")
    run("tasks", "--user", "applicant-g")
    run("sweep")
    run("remind")
    run("fund", "create", "--year", "2026", "--budget", "8000000", "--user", "bureau")
    run("fund", "adjust", "2026-city", "--by", "-50000", "--reason", "调减", "--user", "bureau")
    run("fund", "list")
    opened = run("call", "open", "--title", "第二批（测试）", "--closes", "2025-08-31", "--fund", "2025-city",
                 "--user", "admin")
    call_id = re.search(r"已开启申报批次 (\d+)", opened)
    assert call_id is not None, opened
    run("call", "list")
    run("call", "close", call_id.group(1), "--user", "admin")
    run("policy", "list")
    run("policy", "validate", str(ROOT / "config" / "policy" / "2022-109.toml"))
    run("policy", "load", str(write(tmp_path, "successor.toml", successor_text())), "--user", "admin")
    listed = csv_file("plain-chinese", [[code("360102", 777), "南昌纯中文测试有限公司", "“专精特新”中小企业", "江西省",
                                         "赣工信测字〔2024〕77号", "2024-03-01", ""]], HEADER)
    run("pool", "import", str(listed), "--user", "bureau")
    run("pool", "list")
    run("offers", "list")
    run("offers", "make", "--user", "bureau")
    run("offers", "remind")
    run("arrears", "demo", who=True)
    run("arrears", "cases")
    run("arrears", "tasks", "--user", "bureau")
    run("arrears", "sweep")
    run("arrears", "remind")
    run("arrears", "report", "--month", "2025-06", "--out", str(tmp_path / "m.xlsx"))
    run("arrears", "debtors", "list")
    with flow.services.uow() as uow:
        debtor = uow.session.scalars(select(ArrearsDebtor.uscc).order_by(ArrearsDebtor.id)).first()
    assert debtor is not None
    registered = run("arrears", "register", "--creditor", CREDITOR, "--creditor-name", "南昌纯中文测试科技有限公司",
                     "--debtor", debtor, "--contract", "HT-ZH-1", "--signed", "2025-03-03", "--delivered",
                     "2025-04-01", "--amount", "12000")
    case = re.search(r"案件 (\d+) 已登记", registered)
    assert case is not None, registered
    with flow.services.uow() as uow:
        step = uow.session.scalars(select(ArrearsTask.id).where(ArrearsTask.case_id == int(case.group(1)),
                                                                 ArrearsTask.status == "open")).one()
    run("arrears", "tasks", "--user", "bureau")
    run("arrears", "act", str(step), "--user", "bureau", "--decision", "refuse", "--reason", "不属于受理范围")
    run("arrears", "oversee", case.group(1), "--kind", "supervision", "--document-no", "督〔2025〕1号",
        "--reason", "逾期未付")
    run("arrears", "confirmation", "request", "--creditor", CREDITOR, "--creditor-name", "南昌纯中文测试科技有限公司",
        "--debtor", debtor, "--contract", "HT-ZH-2", "--amount", "20000", "--financing", "保理",
        "--requested", "2025-06-02")
    run("arrears", "confirmation", "list")
    run("arrears", "confirmation", "answer", "1", "--outcome", "partial", "--amount", "15000", "--answered",
        "2025-06-12")
    run("arrears", "monthly", "--force")
    run("arrears", "disclosure", "--year", "2024", "--out", str(tmp_path / "d.xlsx"))
    run("calendar", "show", "2030")
    run("users", "add", "chief", "--role", "admin", "--name", "管理员", stdin="Bayi-square-1927\nBayi-square-1927\n")
    run("users", "password", "chief", stdin="Tengwang-ge-659\nTengwang-ge-659\n")
    run("users", "sign-out", "chief")
    run("tokens", "list")
    run("audit", "verify")
    anchored = run("audit", "anchor")
    statement = next(line for line in anchored.splitlines() if line.startswith("声明原文："))
    flow.found = [f for f in flow.found if statement not in f]  # the signed text itself, printed to be checked
    run("audit", "replay", "1", who=True)
    run("audit", "export", "1", "--out", str(tmp_path / "case-1.json"))
    run("audit", "check-bundle", str(tmp_path / "case-1.json"))
    run("audit", "archive", "--dry-run")
    run("audit", "archive", "--limit", "1")
    run("outbox", "send")
    assert flow.found == [], "\n".join(flow.found)


def _commands(command: Any, path: str) -> Iterator[tuple[str, Any]]:
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _commands(sub, f"{path} {name}")


def test_every_command_and_option_is_described_in_chinese() -> None:
    """`--help` of every command: its description and each option's and argument's say it in Chinese."""
    chinese = re.compile(r"[\u4e00-\u9fff]")
    english_only = []
    for path, command in _commands(typer.main.get_command(app), "smeflow"):
        if not chinese.search(command.help or ""):
            english_only.append(f"{path}: {command.help!r}")
        for param in command.params:
            if not chinese.search(getattr(param, "help", None) or ""):
                english_only.append(f"{path} {param.name}: {getattr(param, 'help', None)!r}")
    assert english_only == [], "\n".join(english_only)
