"""The resource budget of one diagram expression.

The sandbox (services.engine.sandbox) admits no loops, so an expression runs a bounded number of
operations; what is left to bound is what one operation may build or cost. Every operator, every
list/tuple/set/dict display and every safe function runs through a guard that, before it builds
anything, knows the size of the result (its *tree size*: items counted through every nesting, the
characters of strings, shared references counted each time, which is what printing or comparing it
costs) and refuses past MAX_VALUE_SIZE. The sizes walked and built add up per evaluation and are
refused past MAX_WORK, and the evaluation's wall time past MAX_SECONDS: so one evaluation takes
bounded time and memory whatever it says. A refusal is a BudgetExceeded: the step fails with its
message and nothing of it is stored.

Numbers: integer results are refused past MAX_INT_BITS bits (so `x * x` repeated cannot grow them),
Decimals whose exponent is past MAX_DECIMAL_EXPONENT either way (`int(Decimal('1e2000000'))` would
take minutes), `round` past MAX_ROUND_DIGITS digits, and `%` formatting with a `*` width or a width
past MAX_FORMAT_WIDTH. What can be seen in the source (such literals and formats) is refused at upload.
"""

from __future__ import annotations

import ast
import builtins
import operator
import re
import time
from collections.abc import Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from services.engine.expression_errors import BudgetExceeded, SequenceTooLong

MAX_VALUE_SIZE = 100_000  # tree size of any one value an expression builds
MAX_SEQUENCE_LENGTH = MAX_VALUE_SIZE
MAX_WORK = 2_000_000  # tree sizes walked and built by one evaluation, in total
MAX_SECONDS = 2.0  # wall time of one evaluation
MAX_INT_BITS = 256  # about 77 decimal digits; amounts in fen need 50 bits
MAX_DECIMAL_EXPONENT = 60
MAX_ROUND_DIGITS = 60
MAX_FORMAT_WIDTH = 1000

_SCALARS = (int, float, complex, Decimal, bool, type(None))
_FORMAT = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d*))?[hlL]?([a-zA-Z%])")


@dataclass
class Budget:
    """What one evaluation may still spend."""

    deadline: float
    work: int = MAX_WORK

    def charge(self, amount: int) -> None:
        self.work -= amount
        if self.work < 0:
            raise BudgetExceeded(f"表达式的计算超过 {MAX_WORK:,} 步，请简化")
        if time.monotonic() > self.deadline:
            raise BudgetExceeded(f"表达式运行超过 {MAX_SECONDS:g} 秒，请简化")


_current: ContextVar[Budget | None] = ContextVar("smeflow_expression_budget", default=None)


def start() -> Token[Budget | None]:
    """A fresh budget for one evaluation (the guards below charge the innermost one); pass the token
    to stop() when the evaluation ends. (Not a context manager: this runs on every evaluation.)"""
    return _current.set(Budget(time.monotonic() + MAX_SECONDS))


def stop(token: Token[Budget | None]) -> None:
    _current.reset(token)


def _charge(amount: int) -> None:
    budget = _current.get()
    if budget is not None:
        budget.charge(amount)


_STRINGS = frozenset({str, bytes, bytearray})
_CONTAINERS = frozenset({list, tuple, set, frozenset, dict})
_NESTED = _STRINGS | _CONTAINERS


def tree_size(value: Any, limit: int = MAX_VALUE_SIZE) -> int:
    """Items of `value` through every nesting, stopping just past `limit`: a scalar or an empty
    container is 1, a string its length, a container the number of its items plus what its nested
    strings and containers hold beyond that (so `[0] * n` and `"a" * n` are n, `[[0] * n] * n` is
    n * (n + 1)). The size is charged to the budget."""
    kind = type(value)
    if kind in _STRINGS:
        total = max(len(value), 1)
    elif kind not in _CONTAINERS:
        total = 1
    else:
        total, stack = 0, [value]
        while stack and total <= limit:
            item = stack.pop()
            children = [*item.keys(), *item.values()] if type(item) is dict else item
            total += len(children)
            for nested in [child for child in children if type(child) in _NESTED]:
                if type(nested) in _STRINGS:
                    total += max(len(nested) - 1, 0)
                elif nested:
                    stack.append(nested)
        total = max(total, 1)
    _charge(total)
    return total


def _too_large(size: int) -> BudgetExceeded:
    return BudgetExceeded(f"不允许超过 {MAX_VALUE_SIZE:,} 项的值（此处将有 {size:,} 项）")


def _check_size(value: Any) -> Any:
    size = tree_size(value)
    if size > MAX_VALUE_SIZE:
        raise _too_large(size)
    return value


def _check_int(value: Any) -> Any:
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise BudgetExceeded(f"不允许超过 {MAX_INT_BITS} 位的整数")
    return value


def _check_decimal(value: Decimal) -> Decimal:
    if value.is_finite() and value and abs(value.adjusted()) > MAX_DECIMAL_EXPONENT:
        raise BudgetExceeded(f"不允许指数超过 ±{MAX_DECIMAL_EXPONENT} 的 Decimal（此处为 1E{value.adjusted():+d}）")
    return value


def format_problem(template: str | bytes) -> str | None:
    """Why `template % args` is refused (a `*` width, a width past MAX_FORMAT_WIDTH), or None."""
    text = template.decode("latin-1") if isinstance(template, bytes) else template
    for match in _FORMAT.finditer(text):
        width, precision = match.group(1), match.group(2)
        if "*" in (width, precision):
            return "不允许带 `*` 宽度或精度的 `%` 格式化"
        if any(part and int(part) > MAX_FORMAT_WIDTH for part in (width, precision)):
            return f"不允许宽度或精度超过 {MAX_FORMAT_WIDTH} 的 `%` 格式化"
    return None


def _sequence(value: Any) -> bool:
    return isinstance(value, str | bytes | list | tuple)


def _repeated_size(left: Any, right: Any) -> int | None:
    """The size of `left * right` when it repeats a sequence (refused past the budget), else None."""
    for items, count in ((left, right), (right, left)):
        if _sequence(items) and isinstance(count, int):
            size = tree_size(items) * max(count, 0)
            if size > MAX_VALUE_SIZE or len(items) * count > MAX_SEQUENCE_LENGTH:
                raise SequenceTooLong(f"不允许超过 {MAX_SEQUENCE_LENGTH} 项的序列")
            return size
    if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > MAX_INT_BITS + 1:
        raise BudgetExceeded(f"不允许超过 {MAX_INT_BITS} 位的整数")
    return None


def _predicted_size(op: Callable[[Any, Any], Any], left: Any, right: Any) -> int | None:
    """Refuse before running `op(left, right)` what would build a value past the budget; the size of
    the result when it is known beforehand (a sequence repeated or joined)."""
    if op in (operator.mul, operator.imul):
        return _repeated_size(left, right)
    if op in (operator.add, operator.iadd) and _sequence(left) and _sequence(right):
        size = tree_size(left) + tree_size(right)
        if size > MAX_VALUE_SIZE:
            raise _too_large(size)
        return size
    if op in (operator.mod, operator.imod) and isinstance(left, str | bytes):
        problem = format_problem(left)
        if problem:
            raise BudgetExceeded(problem)
        _check_size(right)
    return None


def binop(op: Callable[[Any, Any], Any], left: Any, right: Any) -> Any:
    """`op(left, right)` within the budget: refused before it builds too much, its result charged."""
    size = _predicted_size(op, left, right)
    result = op(left, right)
    if size is not None:
        _charge(size)
        return result
    if isinstance(result, int):
        _charge(1)
        return _check_int(result)
    if isinstance(result, float | Decimal):
        _charge(1)
        return result
    return _check_size(result)


def built(value: Any) -> Any:
    """A list, tuple, set or dict display, charged and bounded."""
    return _check_size(value)


# -- the safe functions, bounded ------------------------------------------------------------------------


def safe_int(value: Any = 0, *base: Any) -> int:
    if isinstance(value, Decimal):
        _check_decimal(value)
    return _check_int(builtins.int(value, *base))


def safe_decimal(value: Any = "0", *context: Any) -> Decimal:
    return _check_decimal(Decimal(value, *context))


def safe_str(value: Any = "") -> str:
    _check_size(value)
    return _check_size(builtins.str(value))


def safe_round(number: Any, ndigits: Any = None) -> Any:
    if ndigits is None:
        if isinstance(number, Decimal):
            _check_decimal(number)
        return _check_int(builtins.round(number))
    if not isinstance(ndigits, int) or abs(ndigits) > MAX_ROUND_DIGITS:
        raise BudgetExceeded(f"不允许 round() 保留超过 {MAX_ROUND_DIGITS} 位")
    return builtins.round(number, ndigits)


def safe_sum(items: Any, start: Any = 0) -> Any:
    if not isinstance(start, int | float | Decimal):
        raise BudgetExceeded("sum() 只能对数字求和（起始值须为数字）")
    tree_size(items)
    return _check_int(builtins.sum(items, start))


def safe_sorted(items: Any, **options: Any) -> list[Any]:
    tree_size(items)
    return builtins.sorted(items, **options)


GUARDED_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len, "min": min, "max": max, "abs": abs, "bool": bool, "any": any, "all": all,
    "int": safe_int, "str": safe_str, "round": safe_round, "sum": safe_sum, "sorted": safe_sorted,
    "Decimal": safe_decimal,
}  # fmt: skip

_OPERATORS: dict[type[ast.operator], tuple[str, str]] = {
    ast.Add: ("add", "iadd"), ast.Sub: ("sub", "isub"), ast.Mult: ("mul", "imul"), ast.Div: ("truediv", "itruediv"),
    ast.FloorDiv: ("floordiv", "ifloordiv"), ast.Mod: ("mod", "imod"),
}  # fmt: skip
#: Names a diagram cannot write (they start with "_"), so only the rewritten code uses them.
GUARDS: dict[str, Any] = {
    "_binop": binop, "_built": built,
    **{f"_{name}": getattr(operator, name) for pair in _OPERATORS.values() for name in pair},
}


class Budgeted(ast.NodeTransformer):
    """Rewrites `a + b` as `_binop(_add, a, b)`, `x *= b` as `x = _binop(_imul, x, b)` (in place, as
    before) and `[...]` as `_built([...])`: the same results, within the budget."""

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        name = _OPERATORS[type(node.op)][0]
        return ast.copy_location(ast.Call(ast.Name("_binop", ast.Load()),
                                          [ast.Name(f"_{name}", ast.Load()), node.left, node.right], []), node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        assert isinstance(node.target, ast.Name)  # the checker admits plain names only
        name = _OPERATORS[type(node.op)][1]
        call = ast.Call(ast.Name("_binop", ast.Load()),
                        [ast.Name(f"_{name}", ast.Load()), ast.Name(node.target.id, ast.Load()), node.value], [])
        return ast.copy_location(ast.Assign([node.target], call), node)

    def _display(self, node: ast.expr) -> ast.AST:
        self.generic_visit(node)
        parts = [*node.keys, *node.values] if isinstance(node, ast.Dict) else getattr(node, "elts", [])
        if all(isinstance(part, ast.Constant) for part in parts):
            return node  # literals only: as large as the source, which is bounded (MAX_SOURCE_LENGTH)
        if isinstance(getattr(node, "ctx", ast.Load()), ast.Load):
            return ast.copy_location(ast.Call(ast.Name("_built", ast.Load()), [node], []), node)
        return node

    visit_List = visit_Tuple = visit_Set = visit_Dict = _display


def static_problems(tree: ast.AST) -> list[tuple[str, ast.AST]]:
    """What the budget would refuse and the source already shows: huge integer literals, Decimal
    literals past the exponent bound, `%` formats with `*` or huge widths, `round` to huge digits."""
    found: list[tuple[str, ast.AST]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
            if node.value.bit_length() > MAX_INT_BITS:
                found.append((f"不允许超过 {MAX_INT_BITS} 位的整数字面量", node))
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant) \
                and isinstance(node.left.value, str | bytes):
            problem = format_problem(node.left.value)
            if problem:
                found.append((problem, node))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args:
            found += _call_problems(node)
    return found


def _call_problems(node: ast.Call) -> list[tuple[str, ast.AST]]:
    assert isinstance(node.func, ast.Name)
    first = node.args[0]
    if node.func.id == "Decimal" and isinstance(first, ast.Constant) and isinstance(first.value, str):
        try:
            _check_decimal(Decimal(first.value))
        except BudgetExceeded as exc:
            return [(f"字面量 {first.value[:40]!r}：{exc.message}", node)]
        except (InvalidOperation, ValueError):
            return []
    if node.func.id == "round" and len(node.args) > 1:
        digits = node.args[1]
        if isinstance(digits, ast.UnaryOp) and isinstance(digits.op, ast.USub):
            digits = digits.operand
        if isinstance(digits, ast.Constant) and isinstance(digits.value, int) and digits.value > MAX_ROUND_DIGITS:
            return [(f"不允许 round() 保留超过 {MAX_ROUND_DIGITS} 位", node)]
    return []
