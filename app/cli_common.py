"""What every CLI command shares: the wired service and one-line errors."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from sqlalchemy.exc import OperationalError, ProgrammingError

from config.secrets import InsecureSecretError
from services.errors import SmeflowError

T = TypeVar("T")


def services_from_env() -> Any:
    from services.bootstrap import build

    return build()


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"错误：{message}", err=True)
    raise typer.Exit(code)


def input_file(file: Path) -> Path:
    """`file` if it is a file one can read; else one line naming it (in place of click's English)."""
    if not file.is_file():
        fail(f"文件：{file} 不存在或不是文件")
    return file


def positive_id(label: str, value: int | None) -> int | None:
    """An id option (`--call 3`): a whole number from 1, or None when not given."""
    if value is not None and value < 1:
        fail(f"{label}：须为正整数（收到 {value}）")
    return value


def output_file(out: Path | None, *, suffix: str, kind: str, default: Path) -> Path:
    """Where a command writes its file: `out` when given (it must end in `suffix`, and its folder must
    exist: one line naming --out and the rule otherwise), else `default`, whose folder is created."""
    if out is None:
        default.parent.mkdir(parents=True, exist_ok=True)
        return default
    if out.suffix.lower() != suffix:
        fail(f"输出文件 --out：{kind}为 {suffix[1:].upper()} 格式，文件名须以 {suffix} 结尾（收到 {out.name}）")
    if not out.parent.is_dir():
        fail(f"输出文件 --out：目录 {out.parent} 不存在")
    if out.is_dir():
        fail(f"输出文件 --out：{out} 是目录，请给出文件名")
    return out


def guarded(fn: Callable[[], T]) -> T:
    """Run a command body, turning every service error into one line and an exit code."""
    try:
        return fn()
    except SmeflowError as exc:
        fail(exc.message)
    except InsecureSecretError as exc:  # a refused secret: the message names the variable, never the value
        fail(str(exc))
    except (OperationalError, ProgrammingError):
        if os.environ.get("SMEFLOW_DEBUG"):
            raise
        fail("数据库未就绪：请先运行 `smeflow init`（设置 SMEFLOW_DEBUG=1 可看到详细原因）")
    except ValueError as exc:  # settings and policy files report as ValueError subclasses
        if os.environ.get("SMEFLOW_DEBUG"):
            raise
        fail(str(exc))
    raise AssertionError("unreachable")
