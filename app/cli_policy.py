"""`smeflow policy ...`: policy editions loaded at run time (validate, load, list).

A bad file prints one line per problem (the field and the rule) and exits 1; nothing is stored.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from app.cli_common import guarded, input_file, services_from_env
from app.cli_policy_simulate import policy_app  # one `smeflow policy` group: simulate, validate, load, list

FileArg = Annotated[Path, typer.Argument(help="政策版本文件（TOML，格式同 config/policy/2022-109.toml）")]


def _read(file: Path) -> bytes:
    from config.policy_check import MAX_FILE_BYTES

    input_file(file)
    with file.open("rb") as fh:
        raw = fh.read(MAX_FILE_BYTES + 1)  # never more than the budget, whatever the file's size
    return raw


def _issues(file: Path, issues: list[object]) -> None:
    for issue in issues:
        typer.echo(f"错误：{file.name}: {issue}", err=True)
    raise typer.Exit(1)


@policy_app.command("validate", help="按规则并对照已存储的政策版本检查一个政策版本文件；不存储")
def validate_cmd(file: FileArg) -> None:
    """Check an edition file against the rules and the stored editions; store nothing."""
    from services.policy import store

    def body() -> None:
        raw = _read(file)
        services = services_from_env()
        with services.uow() as uow:
            issues, edition = store.validate(uow.session, raw, file.name)
        if edition is None:
            _issues(file, list(issues))
            return
        typer.echo(f"校验通过：{file.name}：政策版本 {edition.code}（{edition.doc_no}），"
                   f"施行期 {edition.in_force_from} 至 {edition.in_force_until}，"
                   f"{len(edition.award_types)} 项奖励；未存储")

    guarded(body)


@policy_app.command("load", help="校验政策版本文件并存为新的一版（不可更改），记录其 SHA-256")
def load_cmd(file: FileArg,
             user: Annotated[str, typer.Option("--user", help="系统管理员的用户名（记入审计）")]) -> None:
    """Validate an edition file and store it as a new revision (immutable), with its SHA-256."""
    from services.accounts.users import get_user
    from services.awards.claims import local_today
    from services.policy import store

    def body() -> None:
        raw = _read(file)
        services = services_from_env()
        with services.uow() as uow:
            try:
                loaded = store.load_as(uow.session, user=get_user(uow.session, user), raw=raw, name=file.name,
                                       now=services.clock.now())
            except store.EditionRejected as exc:
                _issues(file, list(exc.issues))
                return
            uow.commit()
        ed = loaded.edition
        label = store.STATES[store.state(ed, local_today(services))]
        if not loaded.stored:
            typer.echo(f"未更改：{file.name} 此前已存为政策版本 {ed.code} 第 {ed.revision} 版")
            return
        typer.echo(f"已载入政策版本 {ed.code} 第 {ed.revision} 版（{label}），sha256 {ed.sha256}")

    guarded(body)


@policy_app.command("list", help="已存储的每一版政策及其按今天日期的状态：草案、施行、失效")
def list_cmd(as_json: Annotated[bool, typer.Option("--json", help="输出 JSON")] = False) -> None:
    """Every stored edition revision with its state by today's date: 草案, 施行, 失效."""
    from services.awards.claims import local_today
    from services.policy import store

    def body() -> None:
        services = services_from_env()
        today = local_today(services)
        with services.uow() as uow:
            rows = store.revisions(uow.session)
        out = [{"code": r.edition.code, "revision": r.edition.revision, "latest": r.latest,
                "state": store.state(r.edition, today), "state_zh": store.STATES[store.state(r.edition, today)],
                "doc_no": r.edition.doc_no, "title": r.edition.title,
                "in_force_from": r.edition.in_force_from.isoformat(),
                "in_force_until": r.edition.in_force_until.isoformat(), "sha256": r.edition.sha256,
                "loaded_at": r.loaded_at.isoformat(), "loaded_by": r.loaded_by} for r in rows]
        if as_json:
            typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
            return
        if not out:
            typer.echo("尚未存储政策版本；请先运行 `smeflow init`")
        for o in out:
            superseded = "" if o["latest"] else "（已被后续版本取代）"
            typer.echo(f"{o['code']} 第 {o['revision']} 版  {o['state_zh']}  施行期 {o['in_force_from']} 至 "
                       f"{o['in_force_until']}  {o['doc_no']}  sha256 {str(o['sha256'])[:12]}{superseded}")

    guarded(body)
