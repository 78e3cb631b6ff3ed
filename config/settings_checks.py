"""The checks behind the settings' validators (config/settings.py): each returns the value or raises
ValueError naming what is wrong, which pydantic reports with the setting's name."""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def merge_stage_limits(value: Any, defaults: dict[str, int]) -> Any:
    """Merge a partial override over the defaults and reject unknown stages."""
    if not isinstance(value, dict):
        return value
    unknown = sorted(set(value) - set(defaults))
    if unknown:
        raise ValueError(f"unknown stage(s) {unknown}; known stages: {sorted(defaults)}")
    return {**defaults, **value}


def positive_limits(value: dict[str, int]) -> dict[str, int]:
    bad = {k: v for k, v in value.items() if v <= 0}
    if bad:
        raise ValueError(f"stage limits must be positive working days, got {bad}")
    return value


def proxy_addresses(value: str) -> str:
    """Comma-separated IP addresses or networks, or `*`."""
    for item in filter(None, (part.strip() for part in value.split(","))):
        if item == "*":
            continue
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError as exc:
            raise ValueError(f"{item!r} is not an IP address or network (or *)") from exc
    return value


def known_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value


def fixed_clock(clock: datetime | None, environment: str, allowed: Collection[str]) -> None:
    """A fixed clock (SMEFLOW_CLOCK) only where it is allowed, and always with its UTC offset."""
    if clock is None:
        return
    if environment not in allowed:
        raise ValueError(f"setting clock (SMEFLOW_CLOCK): a fixed clock is honoured only in development "
                         f"and test, not in environment {environment!r}; unset it")
    if clock.tzinfo is None or clock.utcoffset() is None:
        raise ValueError("setting clock (SMEFLOW_CLOCK): must carry its UTC offset, e.g. 2024-06-03T10:00+08:00")
