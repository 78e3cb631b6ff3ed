"""The restricted evaluator for diagram expressions and scripts."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from services.engine.sandbox import (
    MAX_SEQUENCE_LENGTH,
    SAFE_FUNCTIONS,
    ExpressionSyntaxError,
    RestrictedEnvironment,
    SequenceTooLong,
    UnsafeExpression,
    check_source,
    make_script_engine,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn"


@pytest.fixture
def env() -> RestrictedEnvironment:
    return RestrictedEnvironment({"double": lambda x: x * 2})


@pytest.mark.parametrize(
    ("expression", "data", "expected"),
    [
        ("amount > 100 and grade == 'high'", {"amount": 150, "grade": "high"}, True),
        ("decision in ('approve', 'return')", {"decision": "reject"}, False),
        ("items[1:] == [2, 3]", {"items": [1, 2, 3]}, True),
        ("scores['a'] + scores['b']", {"scores": {"a": 1, "b": 2}}, 3),
        ("Decimal(price) * 3", {"price": "0.10"}, Decimal("0.30")),
        ("max(len(names), 2) if names else -1", {"names": ["x", "y", "z"]}, 3),
        ("sorted({3, 1, 2})", {}, [1, 2, 3]),
        ("any([a, b]) and not all([a, b])", {"a": True, "b": False}, True),
        ("round(sum([1, 2, 3]) / 4, 1)", {}, 1.5),
        ("str(int('7') // 2) + 'x'", {}, "3x"),
        ("double(21)", {}, 42),
        ("x is None or x % 2 == 0", {"x": None}, True),
        ("  amount >= 1", {"amount": 1}, True),
        ("'ab' * 2 + str(3 * 4) + '-' * n", {"n": 3}, "abab12---"),
        ("[None] * 2 * 2 == 4 * [None]", {}, True),
    ],
)
def test_allowed_expressions_evaluate(
    env: RestrictedEnvironment, expression: str, data: dict[str, Any], expected: Any
) -> None:
    assert env.evaluate(expression, data) == expected


@pytest.mark.parametrize(
    ("source", "construct"),
    [
        ('__import__("os").system("id")', "不允许名称 '__import__'"),
        ("().__class__.__base__.__subclasses__()", "不允许访问属性"),
        ('open("/etc/passwd")', "不允许调用 'open'"),
        ('eval("1")', "不允许调用 'eval'"),
        ('getattr(x, "y")', "不允许调用 'getattr'"),
        ("(lambda: 1)()", "不允许 lambda 表达式"),
        ("[a for a in b]", "不允许推导式"),
        ("x.__class__", "不允许访问属性（.__class__）"),
        ("f'{x}'", "不允许 f 字符串"),
        ("2 ** 100", "不允许运算符 **"),
        ("(y := 1)", "不允许赋值表达式（:=）"),
        ("_private", "不允许名称 '_private'"),
        ("len(*args)", "不允许解包（*）"),
        ("{**data}", "不允许字典解包（**）"),
    ],
)
def test_unsafe_expressions_are_rejected_naming_the_construct(source: str, construct: str) -> None:
    with pytest.raises(UnsafeExpression) as caught:
        check_source(source, mode="eval")
    assert construct in str(caught.value)


@pytest.mark.parametrize(
    ("script", "construct"),
    [
        ("import os", "不允许导入（import）"),
        ("for i in x:\n    pass", "不允许循环"),
        ("while True:\n    pass", "不允许循环"),
        ("def f():\n    return 1", "不允许函数定义"),
        ("class A:\n    pass", "不允许类定义"),
        ("try:\n    x = 1\nexcept Exception:\n    pass", "不允许 try 语句"),
        ("with x:\n    pass", "不允许 with 语句"),
        ("global x", "不允许 global 语句"),
        ("x.y = 1", "赋值给属性 .y"),
        ("len = 3", "赋值给 'len'"),
    ],
)
def test_unsafe_statements_are_rejected(script: str, construct: str) -> None:
    with pytest.raises(UnsafeExpression) as caught:
        check_source(script, mode="exec")
    assert construct in str(caught.value)


def test_unsafe_expression_reports_position() -> None:
    with pytest.raises(UnsafeExpression) as caught:
        check_source("a = 1\nb = open('x')", mode="exec")
    assert caught.value.line == 2


def test_syntax_error_has_line_and_column() -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        check_source("x = 1\ny = (2 +", mode="exec")
    assert caught.value.line == 2
    assert caught.value.col is not None
    assert isinstance(caught.value, ValueError)


def test_extra_names_may_be_called() -> None:
    check_source('stage_deadline("review")', mode="eval", extra_names=["stage_deadline"])
    with pytest.raises(UnsafeExpression, match="调用 'stage_deadline'"):
        check_source('stage_deadline("review")', mode="eval")


def test_float_is_not_a_safe_function() -> None:
    assert "float" not in SAFE_FUNCTIONS
    assert "Decimal" in SAFE_FUNCTIONS


@pytest.mark.parametrize(
    "source",
    [
        "[0] * 1000000000",
        '"a" * 1000000000',
        "1000000000 * (0,)",
        "[0] * (100000 * 100000)",
        "items * n",
        "len(b'x' * n) > 0",
    ],
)
def test_repeating_a_sequence_past_the_limit_is_refused_before_it_is_built(
    env: RestrictedEnvironment, source: str
) -> None:
    with pytest.raises(SequenceTooLong, match=f"超过 {MAX_SEQUENCE_LENGTH} 项的序列"):
        env.evaluate(source, {"items": [1, 2], "n": 10**9})


def test_repetition_up_to_the_limit_is_allowed(env: RestrictedEnvironment) -> None:
    assert len(env.evaluate("'a' * n", {"n": MAX_SEQUENCE_LENGTH})) == MAX_SEQUENCE_LENGTH
    with pytest.raises(SequenceTooLong):
        env.evaluate("'a' * n", {"n": MAX_SEQUENCE_LENGTH + 1})


def test_in_place_repetition_is_guarded_and_stays_in_place(env: RestrictedEnvironment) -> None:
    data: dict[str, Any] = {"a": [1]}
    env.execute("b = a\na *= 3\nc = 2\nc *= 5", data)
    assert data == {"a": [1, 1, 1], "b": [1, 1, 1], "c": 10}
    assert data["a"] is data["b"]
    with pytest.raises(SequenceTooLong):
        env.execute("s = 'ab'\ns *= 1000000000", {})


def test_repetition_guard_does_not_change_what_checks_accept() -> None:
    check_source("[0] * 1000000000", mode="eval")  # refused at run time, when the size is known
    with pytest.raises(UnsafeExpression, match="不允许名称 '_mul'"):
        check_source("_mul([0], 3)", mode="eval")


def test_huge_repetition_in_a_gateway_condition_raises_at_run_time() -> None:
    wf = _workflow("len([0] * 1000000000) &gt; 0", make_script_engine())
    with pytest.raises(SpiffWorkflowException, match="项的序列"):
        wf.do_engine_steps()


def test_evaluate_sees_external_context_but_task_data_wins(env: RestrictedEnvironment) -> None:
    assert env.evaluate("dmninputexpr + 1", {}, {"dmninputexpr": 1}) == 2
    assert env.evaluate("v", {"v": "data"}, {"v": "external"}) == "data"


def test_rejected_source_raises_every_time(env: RestrictedEnvironment) -> None:
    for _ in range(2):
        with pytest.raises(UnsafeExpression):
            env.evaluate("x.__class__", {"x": 1})


def test_script_assigns_to_task_data_without_leaking_functions(env: RestrictedEnvironment) -> None:
    data: dict[str, Any] = {"amount": 120}
    env.execute("grade = 'high' if amount > 100 else 'low'\ntotal = double(amount)\nf = len", data)
    assert data == {"amount": 120, "grade": "high", "total": 240}


def test_script_runs_without_builtins(env: RestrictedEnvironment) -> None:
    data: dict[str, Any] = {}
    with pytest.raises(NameError):
        env.execute("x = print", data)
    with pytest.raises(NameError):
        env.evaluate("print", {})


def test_task_data_may_not_shadow_a_function(env: RestrictedEnvironment) -> None:
    with pytest.raises(ValueError, match="overwrites a predefined"):
        env.execute("x = 1", {"len": 3})


def test_invalid_function_names_are_refused() -> None:
    with pytest.raises(ValueError):
        RestrictedEnvironment({"__import__": __import__})


def _workflow(condition: str, script_engine: Any) -> BpmnWorkflow:
    source = (FIXTURES / "runtime_gateway.bpmn").read_text().replace("CONDITION", condition)
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(source.encode(), "runtime_gateway.bpmn")
    spec = parser.get_spec("runtime_process")
    return BpmnWorkflow(spec, parser.get_subprocess_specs("runtime_process"), script_engine=script_engine)


def test_malicious_gateway_condition_raises_at_run_time(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    wf = _workflow(f"open(&quot;{marker}&quot;, &quot;w&quot;) is not None", make_script_engine())
    with pytest.raises(SpiffWorkflowException, match="不允许调用 'open'"):
        wf.do_engine_steps()
    assert not marker.exists()


def test_stock_engine_would_have_run_the_same_condition(tmp_path: Path) -> None:
    """Shows the diagram above is a real attack: SpiffWorkflow's default engine runs it."""
    marker = tmp_path / "pwned"
    wf = _workflow(f"open(&quot;{marker}&quot;, &quot;w&quot;) is not None", None)
    wf.do_engine_steps()
    assert marker.exists()


def test_object_graph_escape_raises_at_run_time() -> None:
    wf = _workflow("len(().__class__.__base__.__subclasses__()) &gt; 0", make_script_engine())
    with pytest.raises(SpiffWorkflowException, match="不允许访问属性"):
        wf.do_engine_steps()


def test_restricted_engine_runs_a_safe_diagram() -> None:
    wf = _workflow("amount &gt; 5", make_script_engine())
    wf.do_engine_steps()
    ready = wf.get_tasks(state=TaskState.READY)
    assert [task.task_spec.bpmn_id for task in ready] == ["Task_Big"]
    big = ready[0]
    assert big.data["amount"] == 10
    assert big.data["note"] == "big"


@pytest.mark.parametrize(
    ("entry", "decision", "outcome"),
    [
        ('"approve"', "approve", "grant"),
        ('"approve"', "reject", "deny"),
        ('? in ("approve", "ok")', "ok", "grant"),
        ('!= "reject"', "maybe", "grant"),
    ],
)
def test_decision_table_runs_in_the_restricted_engine(entry: str, decision: str, outcome: str) -> None:
    dmn = (FIXTURES / "decision.dmn").read_text().replace('<text>"approve"</text>', f"<text>{entry}</text>")
    parser = SpiffBpmnParser()
    parser.add_dmn_str(dmn.encode(), "decision.dmn")
    parser.add_bpmn_str((FIXTURES / "business_rule.bpmn").read_bytes(), "business_rule.bpmn")
    spec = parser.get_spec("rule_process")
    wf = BpmnWorkflow(spec, {}, script_engine=make_script_engine())
    wf.get_tasks(state=TaskState.READY)[0].data["decision"] = decision
    wf.do_engine_steps()
    assert wf.is_completed()
    assert wf.data["outcome"] == outcome
