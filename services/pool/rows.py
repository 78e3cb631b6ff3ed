"""One row of a recognition list: its columns, and the rules each value must meet."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.awards.enterprises import clean_uscc
from services.errors import InvalidInput
from services.pool.catalogue import Vocabulary
from services.pool.listfile import as_text, is_formula

COLUMNS = {  # key -> the column's name in a list
    "uscc": "统一社会信用代码",
    "name": "企业名称",
    "honour_type": "荣誉类型",
    "level": "级别",
    "document_no": "认定文号",
    "recognised_on": "认定日期",
    "valid_until": "有效期",
    "unit": "所属县区",
}
REQUIRED = ("uscc", "name", "honour_type", "level", "document_no", "recognised_on")
HEADERS = {**{label: key for key, label in COLUMNS.items()}, **{key: key for key in COLUMNS}}
EARLIEST = date(2000, 1, 1)  # no recognition list of these titles is older (the titles date from 2011 on)
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_YEARS = re.compile(r"(\d{1,2})\s*年")


@dataclass(frozen=True)
class Listed:
    """A valid row: one honour of one enterprise, as the list states it."""

    line: int
    uscc: str
    name: str
    honour_type: str
    level: str
    document_no: str
    recognised_on: date
    valid_until: date | None
    unit: str | None  # the review unit, for an enterprise the pool does not know yet

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.uscc, self.honour_type, self.level, self.document_no)


def _text(value: Any, limit: int) -> str:
    text = as_text(value)
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise ValueError("含有不可用的控制字符")
    if len(text) > limit:
        raise ValueError(f"最多 {limit} 个字符")
    return text


def parse_day(value: Any) -> date:
    if isinstance(value, date):
        return value if type(value) is date else value.date()  # type: ignore[attr-defined]
    match = _DATE.fullmatch(as_text(value))
    if match is None:
        raise ValueError("日期格式应为 YYYY-MM-DD")
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError as exc:
        raise ValueError("不是有效的日期") from exc


def _valid_until(value: Any, recognised_on: date) -> date | None:
    text = as_text(value)
    if not text:
        return None
    years = _YEARS.fullmatch(text) or (re.fullmatch(r"\d{1,2}", text) and re.match(r"(\d+)", text))
    if years:
        n = int(years[1])
        if not 1 <= n <= 10:
            raise ValueError("有效年限应在 1 至 10 年之间")
        try:
            return recognised_on.replace(year=recognised_on.year + n)
        except ValueError:  # 29 February
            return recognised_on.replace(year=recognised_on.year + n, day=28)
    until = parse_day(value)
    if until < recognised_on:
        raise ValueError(f"有效期 {until} 早于认定日期 {recognised_on}")
    return until


def validate(
    raw: dict[str, Any], *, line: int, vocab: Vocabulary, today: date, units: dict[str, str]
) -> tuple[Listed | None, list[tuple[str, str]]]:
    """A Listed honour, or the (column key, rule) of every value that breaks a rule.
    `units` maps a review unit's name and code (active ones) to its code."""
    errors: list[tuple[str, str]] = []
    for key, value in raw.items():
        if is_formula(value):
            errors.append((key, "公式单元格不予接受（以 = + - @ 开头）"))
    if errors:
        return None, errors
    out: dict[str, Any] = {}
    try:
        out["uscc"] = clean_uscc(as_text(raw.get("uscc")))
    except InvalidInput as exc:
        errors.append(("uscc", exc.rule))
    for key, limit in (("name", 200), ("document_no", 120)):
        try:
            out[key] = _text(raw.get(key), limit)
            if not out[key]:
                errors.append((key, "不能为空"))
        except ValueError as exc:
            errors.append((key, str(exc)))
    honour = vocab.honour(as_text(raw.get("honour_type")))
    if honour is None:
        errors.append(("honour_type", f"未知的荣誉类型“{as_text(raw.get('honour_type'))[:40]}”（政策版本中没有）"))
    level = vocab.level(as_text(raw.get("level")))
    if level is None:
        errors.append(("level", f"未知的级别“{as_text(raw.get('level'))[:20]}”（政策版本中没有）"))
    recognised: date | None = None
    try:
        recognised = parse_day(raw.get("recognised_on"))
        if recognised > today:
            errors.append(("recognised_on", f"认定日期 {recognised} 晚于今天 {today}"))
        elif recognised < EARLIEST:
            errors.append(("recognised_on", f"认定日期 {recognised} 早于 {EARLIEST}，不合理"))
    except ValueError as exc:
        errors.append(("recognised_on", str(exc)))
    until: date | None = None
    if recognised is not None:
        try:
            until = _valid_until(raw.get("valid_until"), recognised)
        except ValueError as exc:
            errors.append(("valid_until", str(exc)))
    unit_text = as_text(raw.get("unit"))
    unit = units.get(unit_text) if unit_text else None
    if unit_text and unit is None:
        errors.append(("unit", f"未知的县区或开发区“{unit_text[:40]}”"))
    if errors or recognised is None or honour is None or level is None:
        return None, errors
    return Listed(line, out["uscc"], out["name"], honour, level, out["document_no"], recognised, until, unit), []
