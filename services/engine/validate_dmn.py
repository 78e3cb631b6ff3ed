"""The DMN side of the diagram validator: decision tables, their entries, gaps and overlaps.

Checks every Python cell through the sandbox, reads each table's rules, and
for columns that only compare the input with literals works out which inputs
match no rule and, under hit policy UNIQUE, which match two.
"""

from __future__ import annotations

import ast
import itertools
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, cast

from services.engine.sandbox import ExpressionError, check_source
from services.engine.validate_common import (
    Problem,
    _check_expression,
    _Doc,
    _local,
    _problem,
    _snippet,
)

MAX_DMN_COMBINATIONS = 20_000

# What SpiffWorkflow's DMNEngine does to find a '?' outside quotes.
_DMN_QUESTION_MARK = re.compile(r"(\?)(?=(?:[^'\"]|['\"][^'\"]*['\"])*$)")
_DMN_INPUT = "dmninputexpr"


def _children(element: Any, name: str) -> list[Any]:
    return [child for child in element if isinstance(child.tag, str) and _local(child) == name]


def _child(element: Any, name: str) -> Any | None:
    return next(iter(_children(element, name)), None)


def _text_of(element: Any) -> str | None:
    text = _child(element, "text")
    return None if text is None else text.text


def dmn_entry_expression(input_expression: str, entry: str) -> str:
    """The Python SpiffWorkflow's DMNEngine evaluates for an input entry.

    `?` outside quotes stands for the input; an entry that parses alone is
    compared with `==`; otherwise (`> 5`, `in (...)`) it is appended to the
    input expression as is.
    """
    replaced = _DMN_QUESTION_MARK.sub(_DMN_INPUT, entry)
    if _DMN_INPUT in replaced:
        return replaced
    try:
        ast.parse(replaced)
        return f"({input_expression}) == ({replaced})"
    except (SyntaxError, ValueError):
        return input_expression + replaced


@dataclass
class _Column:
    element: Any
    label: str
    expression: str
    type_ref: str


@dataclass
class _Rule:
    element: Any
    number: int
    entries: list[str | None]  # None means "any value"


def _check_dmn(doc: _Doc, functions: tuple[str, ...]) -> tuple[list[Problem], str | None]:
    """Problems in one DMN document and the id SpiffWorkflow registers it under."""
    decisions = _children(doc.root, "decision")
    if not decisions:
        doc.usable = False  # SpiffWorkflow's DMN parser fails with an IndexError
        return [Problem(doc.name, None, doc.root.sourceline, "DMN 文档中没有定义决策")], None
    problems: list[Problem] = []
    if len(decisions) > 1:
        ids = "、".join(str(d.get("id")) for d in decisions)
        message = f"流程引擎每个 DMN 文件只读取一个决策，本文件有 {ids}"
        problems.append(_problem(doc, decisions[1], message, own=True))
    for decision in decisions:
        tables = _children(decision, "decisionTable")
        if not tables:
            doc.usable = False  # SpiffWorkflow would fail with an IndexError when a task calls it
            message = "决策没有决策表（只支持决策表）"
            problems.append(_problem(doc, decision, message, own=True))
        elif len(tables) > 1:
            problems.append(_problem(doc, tables[1], "只会使用第一个决策表", own=True))
        if tables:
            problems += _check_table(doc, decision, tables[0], functions)
    first_id = decisions[0].get("id")
    return problems, str(first_id) if first_id else None


def _check_table(doc: _Doc, decision: Any, table: Any, functions: tuple[str, ...]) -> list[Problem]:
    problems = _check_hit_policy(doc, table)
    columns: list[_Column] = []
    for index, element in enumerate(_children(table, "input"), start=1):
        expression_element = _child(element, "inputExpression")
        expression = _text_of(expression_element) if expression_element is not None else None
        label = element.get("label") or element.get("name") or (expression or "").strip() or f"第 {index} 个输入"
        if not expression or not expression.strip():
            problems.append(_problem(doc, element, f"输入 {label!r} 没有表达式", own=True))
            expression = "None"
        else:
            checked = _check_expression(doc, expression_element, expression, "eval", "输入表达式", functions, own=True)
            problems += [checked] if checked else []
        type_ref = expression_element.get("typeRef", "") if expression_element is not None else ""
        columns.append(_Column(element, label, expression.strip(), type_ref))
    outputs = _children(table, "output")
    rules: list[_Rule] = []
    for number, element in enumerate(_children(table, "rule"), start=1):
        rule, rule_problems = _read_rule(doc, element, number, columns, len(outputs), functions)
        problems += rule_problems
        rules.append(rule)
    if not rules:
        return [*problems, _problem(doc, table, "决策表没有规则", own=True)]
    return problems + _analyse_table(doc, decision, table, columns, rules)


def _check_hit_policy(doc: _Doc, table: Any) -> list[Problem]:
    policy = (table.get("hitPolicy") or "UNIQUE").upper()
    if policy not in ("UNIQUE", "FIRST", "COLLECT"):
        message = f"命中策略 {policy} 会被流程引擎按 FIRST 执行（第一条匹配的规则生效）"
        return [_problem(doc, table, message, severity="warning", own=True)]
    if policy == "COLLECT" and table.get("aggregation"):
        message = f"聚合方式 {table.get('aggregation')} 会被忽略：流程引擎返回全部结果的列表"
        return [_problem(doc, table, message, severity="warning", own=True)]
    return []


def _read_rule(
    doc: _Doc, element: Any, number: int, columns: list[_Column], outputs: int, functions: tuple[str, ...]
) -> tuple[_Rule, list[Problem]]:
    problems: list[Problem] = []
    inputs = _children(element, "inputEntry")
    results = _children(element, "outputEntry")
    if len(inputs) != len(columns) or len(results) != outputs:
        message = (
            f"第 {number} 条规则有 {len(inputs)} 个输入条目、{len(results)} 个输出条目，"
            f"而决策表有 {len(columns)} 个输入列、{outputs} 个输出列"
        )
        problems.append(_problem(doc, element, message, own=True))
    entries: list[str | None] = []
    for entry, column in zip(inputs, columns, strict=False):
        text = _text_of(entry)
        entries.append(None if text is None or text == "-" else text)
        problems += _check_input_entry(doc, entry, text, column, number, functions)
    entries += [None] * (len(columns) - len(entries))
    for entry in results:
        text = _text_of(entry)
        if text:
            found = _check_expression(doc, entry, text, "eval", f"第 {number} 条规则的输出条目", functions, own=True)
            problems += [found] if found else []
    return _Rule(element, number, entries), problems


def _check_input_entry(
    doc: _Doc, entry: Any, text: str | None, column: _Column, number: int, functions: tuple[str, ...]
) -> list[Problem]:
    if text is None or text == "-":
        return []
    if not text.strip():
        message = f"第 {number} 条规则：空白的输入条目不匹配任何值；任意值请写 '-'"
        return [_problem(doc, entry, message, own=True)]
    expression = dmn_entry_expression(column.expression, text)
    shown = f"{_snippet(text)!r}（按 {_snippet(expression)!r} 求值）"
    if _glued(column.expression, text, expression):
        message = (
            f"第 {number} 条规则的输入条目 {shown}：流程引擎把条目直接接在输入表达式后面，"
            f"中间没有空格；请写作 '? {text.strip()}'"
        )
        return [_problem(doc, entry, message, own=True)]
    try:
        check_source(expression, mode="eval", extra_names=(*functions, _DMN_INPUT))
    except ExpressionError as exc:
        return [_problem(doc, entry, f"第 {number} 条规则的输入条目 {shown}：{exc.message}", own=True)]
    return []


def _glued(input_expression: str, entry: str, expression: str) -> bool:
    """True when `in (...)`, `not in ...`, `is ...` got glued onto the input name."""
    appended = expression == input_expression + entry
    return appended and bool(re.match(r"\w", entry)) and bool(re.search(r"\w$", input_expression))


class _Other:
    """Stands for any value not named in a column."""

    def __repr__(self) -> str:
        return "<other>"


_OTHER = _Other()


@dataclass
class _Axis:
    """The values worth trying for one input column, and which rules each matches."""

    column: _Column
    values: list[tuple[Any, str]]
    masks: list[int]


def _entry_code(text: str) -> tuple[Any, list[Any]] | None:
    """Compiled code and constants of an entry that only compares the input with literals."""
    expression = dmn_entry_expression(_DMN_INPUT, text)
    try:
        tree = check_source(expression, mode="eval", extra_names=())
    except ExpressionError:
        return None
    constants: list[Any] = []
    negated: set[int] = set()
    for node in ast.walk(tree):  # breadth first: a minus sign comes before its number
        if isinstance(node, ast.Name) and node.id != _DMN_INPUT:
            return None
        if isinstance(node, ast.Call | ast.BinOp | ast.Subscript | ast.IfExp | ast.Dict):
            return None
        if _is_negative_number(node):
            operand = cast(ast.UnaryOp, node).operand
            negated.add(id(operand))
            constants.append(-cast(float, cast(ast.Constant, operand).value))
        elif isinstance(node, ast.Constant) and id(node) not in negated:
            constants.append(node.value)
    return compile(cast(ast.Expression, tree), "<dmn>", "eval"), constants


def _is_negative_number(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant)
        and _is_number(node.operand.value)
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _candidate_values(constants: list[Any], type_ref: str) -> list[tuple[Any, str]]:
    """Representative inputs: each literal, and each gap between numbers or 'anything else'."""
    if type_ref.lower() == "boolean":
        return [(True, "True"), (False, "False")]
    unique: dict[tuple[str, Any], Any] = {}
    for value in constants:
        if isinstance(value, str | int | float | bool) or value is None:
            unique.setdefault((type(value).__name__, value), value)
    numbers = sorted({Fraction(v) for v in unique.values() if _is_number(v)})
    others = [(v, f"= {v!r}") for v in unique.values() if not _is_number(v)]
    if not numbers:
        named = "、".join(repr(v) for v, _ in others[:6]) + ("……" if len(others) > 6 else "")
        return [*others, (_OTHER, f"不在 {named} 之中" if others else "为任意值")]
    values: list[tuple[Any, str]] = [(numbers[0] - 1, f"< {_number(numbers[0])}")]
    for low, high in itertools.pairwise(numbers):
        values += [
            (low, f"= {_number(low)}"),
            ((low + high) / 2, f"在 {_number(low)} 与 {_number(high)} 之间"),
        ]
    values += [(numbers[-1], f"= {_number(numbers[-1])}"), (numbers[-1] + 1, f"> {_number(numbers[-1])}")]
    return values + others


def _number(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else str(float(value))


def _build_axis(column: _Column, index: int, rules: list[_Rule]) -> _Axis | None:
    """Which rules match each representative value of one column, or None if undecidable."""
    codes: dict[int, Any] = {}
    constants: list[Any] = []
    for rule in rules:
        text = rule.entries[index]
        if text is None:
            continue
        compiled = _entry_code(text)
        if compiled is None:
            return None
        codes[rule.number] = compiled[0]
        constants += compiled[1]
    if not codes:
        return None
    values = _candidate_values(constants, column.type_ref)
    masks: list[int] = []
    for value, _ in values:
        mask = 0
        for bit, rule in enumerate(rules):
            code = codes.get(rule.number)
            try:
                hit = code is None or bool(eval(code, {"__builtins__": {}}, {_DMN_INPUT: value}))
            except Exception:
                return None  # e.g. "<other>" > 5: not a column we can reason about
            mask |= (1 << bit) if hit else 0
        masks.append(mask)
    return _Axis(column, values, masks)


def _analyse_table(doc: _Doc, decision: Any, table: Any, columns: list[_Column], rules: list[_Rule]) -> list[Problem]:
    """Inputs that match no rule; in UNIQUE tables, inputs that match two."""
    axes: list[_Axis] = []
    undecided: set[int] = set()
    for index, column in enumerate(columns):
        axis = _build_axis(column, index, rules)
        if axis is not None:
            axes.append(axis)
        elif any(rule.entries[index] is not None for rule in rules):
            undecided |= {bit for bit, rule in enumerate(rules) if rule.entries[index] is not None}
    if math.prod(len(axis.values) for axis in axes) > MAX_DMN_COMBINATIONS:
        return []
    name = decision.get("name") or decision.get("id")
    label = f"决策表 {table.get('id')}（{name}）"
    unique = (table.get("hitPolicy") or "UNIQUE").upper() == "UNIQUE"
    gaps, overlaps = _walk_combinations(axes, len(rules), undecided, unique)
    problems: list[Problem] = []
    if gaps:
        problems.append(_problem(doc, table, _gap_message(label, axes, gaps), own=True))
    for combination, matched in overlaps[:3]:
        numbers = [str(rules[bit].number) for bit in matched]
        shown = _describe_combination(axes, combination)
        message = (
            f"{label}的命中策略为 UNIQUE，但第 {'、'.join(numbers[:-1])} 与第 {numbers[-1]} 条规则"
            f"都匹配 {shown}；流程引擎会默默采用第一条"
        )
        problems.append(_problem(doc, rules[matched[1]].element, message, own=True))
    return problems


def _walk_combinations(
    axes: list[_Axis], rule_count: int, undecided: set[int], unique: bool
) -> tuple[list[tuple[int, ...]], list[tuple[tuple[int, ...], list[int]]]]:
    everything = (1 << rule_count) - 1
    certain = everything & ~sum(1 << bit for bit in undecided)
    gaps: list[tuple[int, ...]] = []
    overlaps: list[tuple[tuple[int, ...], list[int]]] = []
    seen: set[tuple[int, ...]] = set()
    for combination in itertools.product(*(range(len(axis.values)) for axis in axes)):
        mask = everything
        for axis, position in zip(axes, combination, strict=True):
            mask &= axis.masks[position]
        if mask == 0:
            gaps.append(combination)
        elif unique and (mask & certain).bit_count() > 1:
            matched = [bit for bit in range(rule_count) if mask & certain & (1 << bit)]
            if tuple(matched) not in seen:
                seen.add(tuple(matched))
                overlaps.append((combination, matched))
    return gaps, overlaps


def _describe_combination(axes: list[_Axis], combination: tuple[int, ...]) -> str:
    """'decision = 'approve' and amount < 5'; position -1 means any value of that input."""
    pairs = zip(axes, combination, strict=True)
    parts = [f"{axis.column.label} {axis.values[position][1]}" for axis, position in pairs if position >= 0]
    return " 且 ".join(parts) or "任意输入"


def _merge_gaps(axes: list[_Axis], gaps: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
    """Fold gaps that hold for every value of an input into one with -1 ("any") there."""
    current = set(gaps)
    for index, axis in enumerate(axes):
        groups: dict[tuple[int, ...], set[int]] = {}
        for combination in current:
            key = (*combination[:index], -1, *combination[index + 1 :])
            groups.setdefault(key, set()).add(combination[index])
        current = set()
        for key, positions in groups.items():
            if len(positions) == len(axis.values):
                current.add(key)
            else:
                current |= {(*key[:index], position, *key[index + 1 :]) for position in positions}
    return sorted(current)


def _gap_message(label: str, axes: list[_Axis], gaps: list[tuple[int, ...]]) -> str:
    merged = _merge_gaps(axes, gaps)
    examples = "；".join(_describe_combination(axes, combination) for combination in merged[:4])
    more = f"（另有 {len(merged) - 4} 种）" if len(merged) > 4 else ""
    return (
        f"{label}：有些输入不匹配任何规则，决策不会给出结果：{examples}{more}；"
        "请为它们添加规则，或添加一条每个输入都为 '-' 的兜底规则"
    )
