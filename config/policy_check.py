"""Checking an edition file before it is stored: every problem at once, one line each.

``config.policy.parse_edition`` stops at the first problem, which suits the packaged files. A file
an admin loads at run time (``smeflow policy validate|load``, the admin page) gets the whole list,
each issue naming the field (by its Chinese name, the key path beside it) and the rule it breaks, in
plain Chinese. Rules beyond the file's shape:

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


#: what the keys of an edition file are called where a person reads a problem
TOP_LABELS = {"code": "版本代码", "doc_no": "文号", "title": "标题", "issuer": "发文机关", "in_force_from": "施行日期",
              "in_force_until": "有效期截止日", "coverage_from": "适用起始日", "fund": "资金", "source": "出处",
              "honour_types": "荣誉类型", "levels": "认定级别", "award_types": "奖励类型"}
TABLE_LABELS = {
    "fund": {"name": "名称", "clause": "条款原文", "matching_clause": "配套资金条款"},
    "source": {"document": "原文文件", "notes": "说明", "in_force_clause": "施行日期条款",
               "coverage_clause": "适用范围条款"},
    "honour_types": {"code": "代码", "name_zh": "中文名称"},
    "levels": {"code": "代码", "name_zh": "中文名称", "rank": "级次"},
    "award_types": {"code": "奖励代码", "measure": "措施序号", "honour_type": "荣誉类型", "level": "认定级别",
                    "name_zh": "中文名称", "cap_fen": "奖励上限（分）", "route": "流程", "clause": "条款原文"},
}
_PATH = re.compile(r"([A-Za-z_]\w*)(?:\[(\d+)\])?(?:\.([A-Za-z_]\w*))?")


def field_label(path: str) -> str:
    """`奖励类型第 3 项的奖励上限（分）` for ``award_types[2].cap_fen``; 文件 for the file as a whole."""
    if not path:
        return "文件"
    match = _PATH.fullmatch(path)
    if match is None:
        return "字段"
    top, index, key = match.groups()
    label = TOP_LABELS.get(top, "未知字段") + (f"第 {int(index) + 1} 项" if index is not None else "")
    if key is not None:
        label += "的" + TABLE_LABELS.get(top, {}).get(key, "未知字段")
    return label


@dataclass(frozen=True)
class Issue:
    """One problem of a file: the field (dotted path, ``award_types[2].cap_fen``) and the rule, in Chinese.

    ``str()`` is what the CLI prints: the field's Chinese name, its key path after it, the rule; the
    pages show the path in a <code> beside the name."""

    field: str
    rule: str

    @property
    def label(self) -> str:
        return field_label(self.field)

    def __str__(self) -> str:
        return f"{self.label} {self.field}：{self.rule}" if self.field else f"文件：{self.rule}"


def _shape(data: dict[str, Any], spec: dict[str, str], prefix: str, issues: list[Issue]) -> dict[str, Any]:
    """Check keys and types of one table against ``spec``; return the values that passed."""
    good: dict[str, Any] = {}
    path = (lambda k: f"{prefix}.{k}") if prefix else (lambda k: k)
    for key in sorted(set(data) - set(spec)):
        issues.append(Issue(path(key), "未知的字段（是否拼写有误？）"))
    for key, kind in spec.items():
        if key not in data:
            if not kind.startswith("opt_"):
                issues.append(Issue(path(key), "缺少此项（必填）"))
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
        return None if isinstance(value, str) and value.strip() else f"须为非空文字，实为 {value!r}"
    if kind == "int":
        return None if isinstance(value, int) and not isinstance(value, bool) else f"须为整数，实为 {value!r}"
    if kind == "money":
        if isinstance(value, float):
            return f"金额须为整数（单位：分），不能是小数（{value!r}）；30万元应写作 30_000_000"
        if isinstance(value, bool) or not isinstance(value, int):
            return f"金额须为整数（单位：分），实为 {value!r}"
        return None if value > 0 else f"须为大于零的金额（单位：分），实为 {value}"
    if kind == "date":
        ok = isinstance(value, date) and not isinstance(value, datetime)
        return None if ok else f"须为 TOML 日期（YYYY-MM-DD），实为 {value!r}"
    if kind == "table":
        return None if isinstance(value, dict) else "须为一个表（[表名]）"
    if kind == "tables":
        ok = isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)
        return None if ok else "须为至少一项的表数组（[[表名]]）"
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
            issues.append(Issue(f"{prefix}[{i}].{key}", f"{what or '值'}重复：{value!r}"))
        seen.add(str(value))


def _check_awards(rows: list[dict[str, Any]], honours: set[str], levels: set[str], issues: list[Issue]) -> None:
    seen: set[tuple[object, ...]] = set()
    for i, raw in enumerate(rows):
        p = f"award_types[{i}]"
        a = _shape(raw, _AWARD, p, issues)
        if "measure" in a and a["measure"] <= 0:
            issues.append(Issue(f"{p}.measure", f"须为正的措施序号，实为 {a['measure']}"))
        if "honour_type" in a and a["honour_type"] not in honours:
            issues.append(Issue(f"{p}.honour_type", f"未定义的荣誉类型 {a['honour_type']!r}；已定义的有 "
                                                    f"{'、'.join(sorted(honours)) or '（无）'}"))
        if "level" in a and a["level"] not in levels:
            issues.append(Issue(f"{p}.level", f"未定义的认定级别 {a['level']!r}；已定义的有 "
                                              f"{'、'.join(sorted(levels)) or '（无）'}"))
        if "route" in a and not a["route"].isidentifier():
            issues.append(Issue(f"{p}.route", f"须为 BPMN 流程编号（标识符），实为 {a['route']!r}"))
        if "cap_fen" in a and "clause" in a:
            phrases = cap_phrases(a["cap_fen"])
            if not any(ph in a["clause"].replace("，", "") for ph in phrases):
                shown = phrases[-1] if phrases else f"{a['cap_fen']} 分"
                issues.append(Issue(f"{p}.clause", f"每个数字都要有出处：条款原文须写明奖励上限（{shown}）"))
        key = (a.get("measure"), a.get("honour_type"), a.get("level"))
        if None not in key and key in seen:
            issues.append(Issue(f"{p}.level", f"措施序号、荣誉类型、认定级别的组合重复：{'/'.join(map(str, key))}"))
        seen.add(key)
    _unique(rows, "code", "award_types", issues, "奖励代码")


def _check(data: dict[str, Any], issues: list[Issue]) -> None:
    top = _shape(data, _TOP, "", issues)
    if "code" in top and not CODE.fullmatch(top["code"]):
        issues.append(Issue("code", "须为 1 至 40 位字母、数字、“.”“_”或“-”，以字母或数字开头"))
    if "fund" in top:
        _shape(top["fund"], _FUND, "fund", issues)
    if "source" in top:
        _shape(top["source"], _SOURCE, "source", issues)
    honours = [_shape(h, _HONOUR, f"honour_types[{i}]", issues) for i, h in enumerate(top.get("honour_types", []))]
    levels = [_shape(lv, _LEVEL, f"levels[{i}]", issues) for i, lv in enumerate(top.get("levels", []))]
    _unique(honours, "code", "honour_types", issues, "荣誉类型代码")
    _unique(levels, "code", "levels", issues, "认定级别代码")
    _unique(levels, "rank", "levels", issues, "级次")
    _check_awards(top.get("award_types", []), {h["code"] for h in honours if "code" in h},
                  {lv["code"] for lv in levels if "code" in lv}, issues)
    start, end, cover = top.get("in_force_from"), top.get("in_force_until"), top.get("coverage_from")
    if start and end and end < start:
        issues.append(Issue("in_force_until", f"{end} 早于施行日期 {start}"))
    if cover and end and cover > end:
        issues.append(Issue("coverage_from", f"{cover} 晚于有效期截止日 {end}"))


def _where(exc: tomllib.TOMLDecodeError) -> str:
    """`（第 3 行第 7 列）`: where the TOML parser stopped (its own message is English)."""
    found = re.search(r"line (\d+), column (\d+)", str(exc))
    if found:
        return f"（第 {found.group(1)} 行第 {found.group(2)} 列）"
    return "（在文件末尾）" if "end of document" in str(exc) else ""


def check_edition_bytes(raw: bytes, name: str) -> tuple[list[Issue], Edition | None]:
    """Every issue of an edition file, and the edition when there is none."""
    if not raw.strip():
        return [Issue("", "文件为空")], None
    if len(raw) > MAX_FILE_BYTES:
        return [Issue("", f"文件超过 {MAX_FILE_BYTES // 1024} KiB；政策版本文件通常只有几 KiB")], None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [Issue("", f"须为 UTF-8 文本（第 {exc.start} 字节不是）")], None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return [Issue("", f"不是有效的 TOML{_where(exc)}")], None
    issues: list[Issue] = []
    _check(data, issues)
    if issues:
        return issues, None
    try:
        return [], parse_edition(Reader(Path(name), data))
    except PolicyError as exc:  # a rule the parser has and this walk missed: still one line
        return [Issue(exc.field, exc.message)], None
