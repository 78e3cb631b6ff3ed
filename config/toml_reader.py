"""Reading TOML data files with errors that name the file and the field (policy editions, review units)."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

__all__ = ["PolicyError", "Reader", "read_toml", "unique"]


class PolicyError(ValueError):
    """A policy or review-unit data file is missing, unreadable or invalid."""

    def __init__(self, file: Path, field: str, message: str) -> None:
        self.file = file
        self.field = field
        self.message = message
        where = f"{file}: {field}" if field else str(file)
        super().__init__(f"{where}: {message}")



class Reader:
    """Typed access to one TOML table; every error names the file and field path."""

    def __init__(self, file: Path, data: Mapping[str, Any], prefix: str = "") -> None:
        self.file = file
        self.data = data
        self.prefix = prefix

    def path(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def error(self, key: str, message: str) -> PolicyError:
        return PolicyError(self.file, self.path(key) if key else self.prefix, message)

    def check_keys(self, allowed: Iterable[str]) -> None:
        unknown = sorted(set(self.data) - set(allowed))
        if unknown:
            raise self.error(unknown[0], "unknown key (typo?)")

    def _get(self, key: str) -> Any:
        if key not in self.data:
            raise self.error(key, "missing")
        return self.data[key]

    def text(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"must be a non-empty string, got {value!r}")
        return value

    def opt_text(self, key: str) -> str | None:
        return self.text(key) if key in self.data else None

    def integer(self, key: str) -> int:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"must be an integer, got {value!r}")
        return value

    def day(self, key: str) -> date:
        value = self._get(key)
        if isinstance(value, datetime) or not isinstance(value, date):
            raise self.error(key, f"must be a TOML date (YYYY-MM-DD), got {value!r}")
        return value

    def opt_day(self, key: str) -> date | None:
        return self.day(key) if key in self.data else None

    def table(self, key: str) -> Reader:
        value = self._get(key)
        if not isinstance(value, dict):
            raise self.error(key, "must be a table")
        return Reader(self.file, value, self.path(key))

    def tables(self, key: str) -> list[Reader]:
        value = self._get(key)
        if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
            raise self.error(key, "must be a non-empty array of tables")
        return [Reader(self.file, v, f"{self.path(key)}[{i}]") for i, v in enumerate(value)]


def read_toml(file: Path) -> Reader:
    try:
        with file.open("rb") as fh:
            return Reader(file, tomllib.load(fh))
    except OSError as exc:
        raise PolicyError(file, "", f"cannot read: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(file, "", f"invalid TOML: {exc}") from exc


def unique(readers: list[Reader], key: str, values: list[str], what: str = "code") -> None:
    seen: set[str] = set()
    for reader, value in zip(readers, values, strict=True):
        if value in seen:
            raise reader.error(key, f"duplicate {what} {value!r}")
        seen.add(value)


