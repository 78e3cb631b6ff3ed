"""What every CLI command shares: the wired service and one-line errors."""

from __future__ import annotations

import os
from collections.abc import Callable
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


def guarded(fn: Callable[[], T]) -> T:
    """Run a command body, turning every service error into one line and an exit code."""
    try:
        return fn()
    except SmeflowError as exc:
        fail(exc.message)
    except InsecureSecretError as exc:  # a refused secret: the message names the variable, never the value
        fail(str(exc))
    except (OperationalError, ProgrammingError) as exc:
        if os.environ.get("SMEFLOW_DEBUG"):
            raise
        fail(f"database not ready ({type(exc.orig).__name__}); run `smeflow init` first")
    except ValueError as exc:  # settings and policy files report as ValueError subclasses
        if os.environ.get("SMEFLOW_DEBUG"):
            raise
        fail(str(exc))
    raise AssertionError("unreachable")
