"""Click's own usage errors (a missing option, an unknown option, a value of the wrong type, an unknown
command) in one Chinese line, like every other error of the `smeflow` command line:
`错误：缺少选项 --user（用 `smeflow fund create --help` 查看用法）`, exit 2 as click has it."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

try:  # typer 0.2x carries its own copy of click; older typer uses click itself
    from typer._click import exceptions as click
except ImportError:  # pragma: no cover
    from click import exceptions as click  # type: ignore[no-redef]

_RULES = (  # the message for a value that could not be converted -> the rule, in Chinese
    (re.compile(r"valid integer"), "须为整数"),
    (re.compile(r"valid (number|float)"), "须为数字"),
    (re.compile(r"valid boolean"), "须为 true 或 false"),
    (re.compile(r"greater than or equal to (\S+)"), "须不小于 {0}"),
    (re.compile(r"less than or equal to (\S+)"), "须不大于 {0}"),
    (re.compile(r"is not one of (.*)\.|[Ii]nput should be (.*)"), "须为 {0} 之一"),
)


def _hint(exc: Exception) -> str:
    """`--user`, or `ITEM` for an argument: the parameter as the command line names it."""
    hint = getattr(exc, "param_hint", None)
    param = getattr(exc, "param", None)
    if hint is None and param is not None:
        opts = [o for o in getattr(param, "opts", []) if o.startswith("-")]
        hint = " / ".join(opts) if opts else str(getattr(param, "display_name_raw", None) or param.name).upper()
    if isinstance(hint, Sequence) and not isinstance(hint, str):
        hint = " / ".join(hint)
    return str(hint or "").replace("'", "").replace('"', "")


def usage_error_text(exc: click.ClickException) -> str:
    """The one line that says what was wrong with the command as typed."""
    message = exc.message
    if isinstance(exc, click.MissingParameter):
        hint = _hint(exc)
        return f"缺少{'选项' if hint.startswith('-') else '参数'} {hint}"
    if isinstance(exc, click.NoSuchOption):
        near = f"（是否要用 {'、'.join(exc.possibilities)}？）" if exc.possibilities else ""
        return f"没有选项 {exc.option_name}{near}"
    if isinstance(exc, click.BadOptionUsage):
        return f"选项 {exc.option_name} 的用法有误（须跟一个值）" if "requires" in message \
            else f"选项 {exc.option_name} 的用法有误"
    if isinstance(exc, click.BadParameter):
        for pattern, rule in _RULES:
            found = pattern.search(message)
            if found:
                return f"{_hint(exc)}：{rule.format(*(g for g in found.groups() if g))}"
        return f"{_hint(exc)}：值无效"
    found = re.search(r"No such command '(.*)'", message)
    if found:
        return f"没有命令 {found.group(1)}"
    found = re.search(r"unexpected extra argument\S* \((.*)\)", message)
    if found:
        return f"多余的参数：{found.group(1)}"
    return "命令用法有误"


class ChineseUsageErrors(TyperGroup):
    """The root group of `smeflow`: runs the command and reports click's usage errors in Chinese."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, windows_expand_args: bool = True,
             **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except click.NoArgsIsHelpError as exc:  # `smeflow fund`: the group's help, as before
            exc.show()
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            ctx = getattr(exc, "ctx", None)
            path = " ".join(["smeflow", *ctx.command_path.split(" ")[1:]]) if ctx is not None else "smeflow"
            where = f"（用 `{path} --help` 查看用法）"
            typer.echo(f"错误：{usage_error_text(exc)}{where}", err=True)
            sys.exit(exc.exit_code)
        except typer.Abort:
            typer.echo("已取消", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)
