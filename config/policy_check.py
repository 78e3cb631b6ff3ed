"""Checking an edition file before it is stored: every problem at once, one line each.

``config.policy.parse_edition`` stops at the first problem, which suits the packaged files. A file
an admin loads at run time (``smeflow policy validate|load``, the admin page) gets the whole list,
each issue naming the field and the rule it breaks. Rules beyond the file's shape:

- every number needs its clause: each award's ``clause`` (the sentence of the notice) must state
  its cap (``30万元`` for 30_000_000 fen); the dates need ``source.in_force_clause`` and
  ``source.coverage_clause``, the fund ``fund.clause``;
- money is integer fen: a float (``300000.0``) or a string is refused, never rounded;
- the checks against other stored editions (overlapping dates, award codes) are made by
  ``services.policy.store``, which knows the database.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from config.policy import Edition, parse_edition
from config.toml_reader import PolicyError, Reader

__all__ = ["MAX_FILE_BYTES", "Issue", "check_edition_bytes"]

#: an edition file is a few KiB (the 2022 one is 9 KiB); anything far larger is refused unread
MAX_FILE_BYTES = 256 * 1024
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
_TOP = {"code": "text", "doc_no": "text", "title": "text", "issuer": "text", "in_force_from": "date",
        "in_force_until": "date", "coverage_from": "date", "fund": "table", "source": "table",
        "honour_types": "tables", "levels": "tables", "award_types": "tables"}
_FUND = {"name": "text", "clause": "text", "matching_clause": "opt_text"}
_SOURCE = {"document": "opt_text", "notes": "text", "in_force_clause": "text", "coverage_clause": "text"}
_HONOUR = {"code": "text", "name_zh": "text"}
_LEVEL = {"code": "text", "name_zh": "text", "rank": "int"}
_AWARD = {"code": "text", "measure": "int", "honour_type": "text", "level": "text", "name_zh": "text",
          "cap_fen": "money", "route": "text", "clause": "text"}


@dataclass(frozen=True)
class Issue:
    """One problem of a file: the field (dotted path, ``award_types[2].cap_fen``) and the rule."""

    field: str
    rule: str

    def __str__(self) -> str:
        return f"{self.field or '(file)'}: {self.rule}"


def _shape(data: dict[str, Any], spec: dict[str, str], prefix: str, issues: list[Issue]) -> dict[str, Any]:
    """Check keys and types of one table against ``spec``; return the values that passed."""
    good: dict[str, Any] = {}
    path = (lambda k: f"{prefix}.{k}") if prefix else (lambda k: k)
    for key in sorted(set(data) - set(spec)):
        issues.append(Issue(path(key), "unknown key (typo?)"))
    for key, kind in spec.items():
        if key not in data:
            if not kind.startswith("opt_"):
                issues.append(Issue(path(key), "missing (required)"))
            continue
        value = data[key]
        rule = _type_rule(kind, value)
        if rule:
            issues.append(Issue(path(key), rule))
        else:
            good[key] = value
    return good


def _type_rule(kind: str, value: Any) -> str | None:
    if kind in ("text", "opt_text"):
        return None if isinstance(value, str) and value.strip() else f"must be a non-empty string, got {value!r}"
    if kind == "int":
        return None if isinstance(value, int) and not isinstance(value, bool) else f"must be an integer, got {value!r}"
    if kind == "money":
        if isinstance(value, float):
            return f"money must be an integer number of fen, not a float ({value!r}); 30万元 is 30_000_000"
        if isinstance(value, bool) or not isinstance(value, int):
            return f"money must be an integer number of fen, got {value!r}"
        return None if value > 0 else f"must be a positive amount in fen, got {value}"
    if kind == "date":
        ok = isinstance(value, date) and not isinstance(value, datetime)
        return None if ok else f"must be a TOML date (YYYY-MM-DD), got {value!r}"
    if kind == "table":
        return None if isinstance(value, dict) else "must be a table"
    if kind == "tables":
        ok = isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)
        return None if ok else "must be a non-empty array of tables"
    raise AssertionError(kind)


def cap_phrases(cap_fen: int) -> list[str]:
    """How a notice may state a cap: ``30万元``, ``300000元``, ``300,000元``."""
    phrases = []
    if cap_fen % 100 == 0:
        yuan = cap_fen // 100
        phrases += [f"{yuan}元", f"{yuan:,}元"]
        if yuan % 100 == 0:
            phrases.append(f"{yuan / 10_000:g}万元")
    return phrases


def _unique(rows: list[dict[str, Any]], key: str, prefix: str, issues: list[Issue], what: str = "") -> None:
    seen: set[str] = set()
    for i, row in enumerate(rows):
        value = row.get(key)
        if value is None:
            continue
        if str(value) in seen:
            issues.append(Issue(f"{prefix}[{i}].{key}", f"duplicate {what or key} {value!r}"))
        seen.add(str(value))


def _check_awards(rows: list[dict[str, Any]], honours: set[str], levels: set[str], issues: list[Issue]) -> None:
    seen: set[tuple[object, ...]] = set()
    for i, raw in enumerate(rows):
        p = f"award_types[{i}]"
        a = _shape(raw, _AWARD, p, issues)
        if "measure" in a and a["measure"] <= 0:
            issues.append(Issue(f"{p}.measure", f"must be a positive measure number, got {a['measure']}"))
        if "honour_type" in a and a["honour_type"] not in honours:
            issues.append(Issue(f"{p}.honour_type", f"unknown honour type {a['honour_type']!r}; "
                                                    f"known: {sorted(honours)}"))
        if "level" in a and a["level"] not in levels:
            issues.append(Issue(f"{p}.level", f"unknown level {a['level']!r}; known: {sorted(levels)}"))
        if "route" in a and not a["route"].isidentifier():
            issues.append(Issue(f"{p}.route", f"must be a BPMN process id (identifier), got {a['route']!r}"))
        if "cap_fen" in a and "clause" in a:
            phrases = cap_phrases(a["cap_fen"])
            if not any(ph in a["clause"].replace("，", "") for ph in phrases):
                shown = phrases[-1] if phrases else f"{a['cap_fen']} fen"
                issues.append(Issue(f"{p}.clause", f"every number needs its clause: the clause must state "
                                                   f"the cap ({shown})"))
        key = (a.get("measure"), a.get("honour_type"), a.get("level"))
        if None not in key and key in seen:
            issues.append(Issue(f"{p}.level", f"duplicate measure/honour_type/level {'/'.join(map(str, key))}"))
        seen.add(key)
    _unique(rows, "code", "award_types", issues, "award code")


def _check(data: dict[str, Any], issues: list[Issue]) -> None:
    top = _shape(data, _TOP, "", issues)
    if "code" in top and not CODE.fullmatch(top["code"]):
        issues.append(Issue("code", "must be 1-40 letters, digits, '.', '_' or '-', starting with a letter or digit"))
    if "fund" in top:
        _shape(top["fund"], _FUND, "fund", issues)
    if "source" in top:
        _shape(top["source"], _SOURCE, "source", issues)
    honours = [_shape(h, _HONOUR, f"honour_types[{i}]", issues) for i, h in enumerate(top.get("honour_types", []))]
    levels = [_shape(lv, _LEVEL, f"levels[{i}]", issues) for i, lv in enumerate(top.get("levels", []))]
    _unique(honours, "code", "honour_types", issues, "honour type")
    _unique(levels, "code", "levels", issues, "level")
    _unique(levels, "rank", "levels", issues, "rank")
    _check_awards(top.get("award_types", []), {h["code"] for h in honours if "code" in h},
                  {lv["code"] for lv in levels if "code" in lv}, issues)
    start, end, cover = top.get("in_force_from"), top.get("in_force_until"), top.get("coverage_from")
    if start and end and end < start:
        issues.append(Issue("in_force_until", f"{end} is before in_force_from {start}"))
    if cover and end and cover > end:
        issues.append(Issue("coverage_from", f"{cover} is after in_force_until {end}"))


def check_edition_bytes(raw: bytes, name: str) -> tuple[list[Issue], Edition | None]:
    """Every issue of an edition file, and the edition when there is none."""
    if not raw.strip():
        return [Issue("", "the file is empty")], None
    if len(raw) > MAX_FILE_BYTES:
        return [Issue("", f"the file is larger than {MAX_FILE_BYTES // 1024} KiB; an edition file is a few KiB")], None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [Issue("", f"must be UTF-8 text (byte {exc.start} is not)")], None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return [Issue("", f"invalid TOML: {exc}")], None
    issues: list[Issue] = []
    _check(data, issues)
    if issues:
        return issues, None
    try:
        return [], parse_edition(Reader(Path(name), data))
    except PolicyError as exc:  # a rule the parser has and this walk missed: still one line
        return [Issue(exc.field, exc.message)], None
