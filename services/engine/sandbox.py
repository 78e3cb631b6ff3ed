"""Restricted evaluation of the Python that diagrams carry.

Gateway conditions, script tasks, pre/post scripts, DMN cells, timer and
multi-instance expressions are all Python in SpiffWorkflow, and its stock
environment runs them with full builtins. This module admits only a whitelist
of AST nodes: no attribute access (so no way into the object graph), no names
starting with an underscore, no lambdas, comprehensions, loops or imports, and
calls only to a fixed set of functions. At run time every operator, display and
function runs within a budget of size, work and time (services.engine.budget):
`[0] * 10**9`, `'%*s' % (10**8, '')` or `int(Decimal('1e2000000'))` are stopped
before they exhaust memory or a worker, and what the source already shows is
refused at upload.
"""

from __future__ import annotations

import ast
from collections import ChainMap
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from types import CodeType
from typing import Any, Literal, cast

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment

from services.engine import budget
from services.engine.budget import (
    GUARDED_FUNCTIONS,
    GUARDS,
    MAX_SEQUENCE_LENGTH,
    Budgeted,
    static_problems,
)
from services.engine.expression_errors import (
    BudgetExceeded,
    ExpressionError,
    ExpressionSyntaxError,
    SequenceTooLong,
    UnsafeExpression,
)

__all__ = [
    "MAX_SEQUENCE_LENGTH", "SAFE_FUNCTIONS", "BudgetExceeded", "ExpressionError", "ExpressionSyntaxError", "Mode",
    "RestrictedEnvironment", "SequenceTooLong", "UnsafeExpression", "check_source", "compile_checked",
    "make_script_engine",
]  # fmt: skip

Mode = Literal["eval", "exec"]

SAFE_FUNCTIONS: dict[str, Callable[..., Any]] = GUARDED_FUNCTIONS

MAX_SOURCE_LENGTH = 20_000
MAX_NESTING = 200
_CACHE_LIMIT = 4096

_PLAIN_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression, ast.Module, ast.Expr, ast.If, ast.Pass, ast.Load, ast.Store, ast.Constant,
    ast.Compare, ast.BoolOp, ast.And, ast.Or, ast.IfExp, ast.Subscript, ast.Slice, ast.List, ast.Tuple, ast.Set,
    ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot,
)  # fmt: skip
_BINARY_OPERATORS: tuple[type[ast.operator], ...] = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod)
_UNARY_OPERATORS: tuple[type[ast.unaryop], ...] = (ast.Not, ast.USub, ast.UAdd)
_OPERATOR_SYMBOLS: dict[type[ast.AST], str] = {
    ast.Pow: "**", ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>",
    ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^", ast.Invert: "~",
}  # fmt: skip
_DESCRIPTIONS: dict[type[ast.AST], str] = {
    ast.Lambda: "lambda 表达式",
    ast.ListComp: "推导式",
    ast.SetComp: "推导式",
    ast.DictComp: "推导式",
    ast.GeneratorExp: "生成器表达式",
    ast.Import: "导入（import）",
    ast.ImportFrom: "导入（import）",
    ast.Global: "global 语句",
    ast.Nonlocal: "nonlocal 语句",
    ast.While: "循环",
    ast.For: "循环",
    ast.AsyncFor: "循环",
    ast.Try: "try 语句",
    ast.TryStar: "try 语句",
    ast.With: "with 语句",
    ast.AsyncWith: "with 语句",
    ast.FunctionDef: "函数定义",
    ast.AsyncFunctionDef: "函数定义",
    ast.ClassDef: "类定义",
    ast.Starred: "解包（*）",
    ast.NamedExpr: "赋值表达式（:=）",
    ast.JoinedStr: "f 字符串",
    ast.FormattedValue: "f 字符串",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Raise: "raise 语句",
    ast.Assert: "assert 语句",
    ast.Delete: "del 语句",
    ast.Return: "return 语句",
    ast.Break: "break 语句",
    ast.Continue: "continue 语句",
    ast.Match: "match 语句",
    ast.AnnAssign: "带注解的赋值",
}


class _Checker:
    """Walks an AST iteratively and records every construct outside the whitelist."""

    def __init__(self, callable_names: frozenset[str]) -> None:
        self.callable_names = callable_names
        self.violations: list[tuple[str, ast.AST]] = []
        self.attributes: list[str] = []

    def run(self, tree: ast.AST) -> None:
        stack: list[tuple[ast.AST, int]] = [(tree, 0)]
        while stack:
            node, depth = stack.pop()
            if depth > MAX_NESTING:
                self._reject(f"超过 {MAX_NESTING} 层的嵌套", node)
                return
            children = self._visit(node)
            stack.extend((child, depth + 1) for child in reversed(children))

    def _reject(self, what: str, node: ast.AST) -> None:
        self.violations.append((f"不允许{' ' if what[:1].isascii() else ''}{what}", node))

    def _visit(self, node: ast.AST) -> list[ast.AST]:
        """Check one node; return the children still to check."""
        handler = _HANDLERS.get(type(node))
        if handler is not None:
            return handler(self, node)
        if isinstance(node, _PLAIN_NODES):
            return list(ast.iter_child_nodes(node))
        self._reject(_describe(node), node)
        return []

    def _name(self, node: ast.Name) -> list[ast.AST]:
        if node.id.startswith("_"):
            self._reject(f"名称 '{node.id}'", node)
        return []

    def _attribute(self, node: ast.Attribute) -> list[ast.AST]:
        self.violations.append(("", node))
        self.attributes.append(f".{node.attr}")
        return [node.value]

    def message(self) -> str:
        """All refused constructs, attribute accesses folded into one entry."""
        messages = [message for message, _ in self.violations if message]
        if self.attributes:
            names = "、".join(dict.fromkeys(self.attributes))
            messages.append(f"不允许访问属性（{names}）")
        return "；".join(list(dict.fromkeys(messages))[:6])

    def _call(self, node: ast.Call) -> list[ast.AST]:
        func = node.func
        children: list[ast.AST] = [*node.args, *node.keywords]
        if isinstance(func, ast.Name):
            if func.id.startswith("_"):
                self._reject(f"名称 '{func.id}'", func)
            elif func.id not in self.callable_names:
                self._reject(f"调用 '{func.id}'", func)
        elif isinstance(func, ast.Attribute):
            children.insert(0, func)
        else:
            self._reject("调用计算得到的函数", func)
            children.insert(0, func)
        return children

    def _keyword(self, node: ast.keyword) -> list[ast.AST]:
        if node.arg is None:
            self._reject("关键字解包（**）", node)
        return [node.value]

    def _dict(self, node: ast.Dict) -> list[ast.AST]:
        if any(key is None for key in node.keys):
            self._reject("字典解包（**）", node)
        return [child for child in (*node.keys, *node.values) if child is not None]

    def _target(self, target: ast.expr) -> None:
        if not isinstance(target, ast.Name):
            self._reject(f"赋值给{_describe(target)}（只能给普通名称赋值）", target)
        elif target.id.startswith("_"):
            self._reject(f"名称 '{target.id}'", target)
        elif target.id in self.callable_names:
            self._reject(f"赋值给 '{target.id}'（它是函数名）", target)

    def _assign(self, node: ast.Assign) -> list[ast.AST]:
        for target in node.targets:
            self._target(target)
        return [node.value]

    def _aug_assign(self, node: ast.AugAssign) -> list[ast.AST]:
        self._target(node.target)
        self._operator(node.op, node)
        return [node.value]

    def _operator(self, op: ast.AST, node: ast.AST) -> None:
        if not isinstance(op, _BINARY_OPERATORS + _UNARY_OPERATORS):
            self._reject(f"运算符 {_OPERATOR_SYMBOLS.get(type(op), type(op).__name__)}", node)

    def _bin_op(self, node: ast.BinOp) -> list[ast.AST]:
        self._operator(node.op, node)
        return [node.left, node.right]

    def _unary_op(self, node: ast.UnaryOp) -> list[ast.AST]:
        self._operator(node.op, node)
        return [node.operand]


_HANDLERS: dict[type[ast.AST], Callable[[_Checker, Any], list[ast.AST]]] = {
    ast.Name: _Checker._name,
    ast.Attribute: _Checker._attribute,
    ast.Call: _Checker._call,
    ast.keyword: _Checker._keyword,
    ast.Dict: _Checker._dict,
    ast.Assign: _Checker._assign,
    ast.AugAssign: _Checker._aug_assign,
    ast.BinOp: _Checker._bin_op,
    ast.UnaryOp: _Checker._unary_op,
}


def _describe(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return f"属性 .{node.attr}"
    if isinstance(node, ast.Subscript):
        return "下标"
    if isinstance(node, ast.Tuple | ast.List):
        return "多个名称"
    return _DESCRIPTIONS.get(type(node), f"语法结构 {type(node).__name__}")


def _parse(source: str, mode: Mode) -> ast.Module | ast.Expression:
    if not isinstance(source, str):
        raise ExpressionSyntaxError(f"须为源代码文本，实为 {type(source).__name__}")
    if len(source) > MAX_SOURCE_LENGTH:
        raise UnsafeExpression(f"源代码超过 {MAX_SOURCE_LENGTH} 个字符，不允许")
    if mode == "eval":
        source = source.lstrip(" \t")  # what the builtin eval() does with a string
    try:
        return cast(ast.Module | ast.Expression, ast.parse(source, mode=mode))
    except SyntaxError as exc:
        line, col = exc.lineno, exc.offset
        where = f"（第 {line} 行第 {col} 列）" if line is not None else ""
        raise ExpressionSyntaxError(f"语法错误{where}：不是有效的 Python 表达式", line, col) from None
    except (ValueError, MemoryError, RecursionError):
        raise ExpressionSyntaxError("语法错误：不是有效的 Python 表达式") from None


def _checked_tree(source: str, mode: Mode, callable_names: frozenset[str]) -> ast.Module | ast.Expression:
    tree = _parse(source, mode)
    checker = _Checker(callable_names)
    checker.run(tree)
    if not checker.violations:
        checker.violations += static_problems(tree)
    if checker.violations:
        first = checker.violations[0][1]
        raise UnsafeExpression(checker.message(), getattr(first, "lineno", None), getattr(first, "col_offset", None))
    return tree


def check_source(source: str, *, mode: Mode, extra_names: Iterable[str] = ()) -> ast.AST:
    """Parse `source` and admit it only if every node is on the whitelist.

    `extra_names` are further function names that may be called, besides
    SAFE_FUNCTIONS. Raises ExpressionSyntaxError for invalid Python and
    UnsafeExpression naming every refused construct; returns the tree.
    """
    return _checked_tree(source, mode, frozenset(SAFE_FUNCTIONS).union(extra_names))


_CODE_CACHE: dict[tuple[str, frozenset[str], str], CodeType] = {}


def compile_checked(source: str, mode: Mode, names: frozenset[str]) -> CodeType:
    """Check and compile `source` once; later calls with the same source hit a cache."""
    key = (mode, names, source)
    code = _CODE_CACHE.get(key)
    if code is None:
        tree = _checked_tree(source, mode, frozenset(SAFE_FUNCTIONS).union(names))
        code = compile(ast.fix_missing_locations(Budgeted().visit(tree)), "<string>", mode)
        if len(_CODE_CACHE) >= _CACHE_LIMIT:
            _CODE_CACHE.clear()
        _CODE_CACHE[key] = code
    return code


class RestrictedEnvironment(TaskDataEnvironment):
    """A SpiffWorkflow script environment that runs only whitelisted Python.

    Names resolve to the task data first, then to the external context the
    engine passes (DMN input, data objects), then to SAFE_FUNCTIONS and the
    `functions` given here. There are no builtins.
    """

    def __init__(self, functions: Mapping[str, Callable[..., Any]] | None = None) -> None:
        extra = dict(functions or {})
        for name in extra:
            if not name.isidentifier() or name.startswith("_"):
                raise ValueError(f"invalid function name for diagrams: {name!r}")
        namespace = {**SAFE_FUNCTIONS, **extra}
        super().__init__(namespace)
        self._names = frozenset(namespace)
        self._scope: dict[str, Any] = {"__builtins__": {}, **namespace, **GUARDS}

    @property
    def function_names(self) -> frozenset[str]:
        """Names a diagram may call in this environment."""
        return self._names

    def evaluate(
        self,
        expression: str,
        context: MutableMapping[str, Any],
        external_context: Mapping[str, Any] | None = None,
    ) -> Any:
        """Evaluate a checked expression against the task data."""
        code = compile_checked(expression, "eval", self._names)
        names = ChainMap(context, cast(dict[str, Any], external_context)) if external_context else context
        token = budget.start()
        try:
            return eval(code, self._scope, names)
        finally:
            budget.stop(token)

    def execute(
        self,
        script: str,
        context: dict[str, Any],
        external_context: Mapping[str, Any] | None = None,
    ) -> bool:
        """Run a checked script; names it assigns end up in the task data."""
        external = dict(external_context or {})
        self.check_for_overwrite(context, external)
        code = compile_checked(script, "exec", self._names)
        names = ChainMap(context, external) if external else context
        token = budget.start()
        try:
            exec(code, self._scope, names)
        finally:
            budget.stop(token)
            self._remove_globals_and_functions_from_context(context, external)
        return True


def make_script_engine(functions: Mapping[str, Callable[..., Any]] | None = None) -> PythonScriptEngine:
    """Return a SpiffWorkflow script engine that evaluates through RestrictedEnvironment."""
    return PythonScriptEngine(environment=RestrictedEnvironment(functions))
