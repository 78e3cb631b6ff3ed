"""The restricted evaluator checks every part of a diagram expression, keeps `+=` and `-=` as they
are, and its refusals say what and where, exactly as a diagram author reads them at upload.

Kills `make mutants` survivors in services/engine/sandbox.py: dict values left unchecked (an escape
through the object graph ran), `x += n` rewritten into the repetition guard (`x * n`), the position
dropped from refusals of operators and `**` in a dict, and the wording of combined refusals.
Equivalent on Python 3.11: `_describe`'s fallback (`type(node).__name__`, mutated to `None` or to
`NoneType`) is reached by no tree the checker lets through to it (`type X = ...` needs 3.12).
"""

from __future__ import annotations

from typing import Any

import pytest
from SpiffWorkflow.exceptions import SpiffWorkflowException

from services.engine.sandbox import RestrictedEnvironment, UnsafeExpression, check_source, make_script_engine
from tests.engine.test_sandbox import _workflow

ESCAPE = "().__class__.__base__.__subclasses__()"


@pytest.mark.parametrize("source", [
    f'{{"k": {ESCAPE}}}', f"{{{ESCAPE}[0]: 1}}", '{"k": open("/etc/passwd")}', '{"k": {"j": x.y}}',
])
def test_every_key_and_value_of_a_dict_is_checked(source: str) -> None:
    with pytest.raises(UnsafeExpression) as caught:
        check_source(source, mode="eval")
    assert "不允许" in str(caught.value)
    with pytest.raises(UnsafeExpression):  # and nothing of it runs
        RestrictedEnvironment().evaluate(source, {"x": 1})


def test_adding_and_subtracting_in_place_keep_their_meaning() -> None:
    data: dict[str, Any] = {"total": 3, "names": ["a"]}
    RestrictedEnvironment().execute("total += 2\nleft = 10\nleft -= 4\nnames += ['b']\nnote = 'x'\nnote += 'y'",
                                    data)
    assert data == {"total": 5, "left": 6, "names": ["a", "b"], "note": "xy"}


@pytest.mark.parametrize(("second_line", "construct", "col"), [
    ("b = ~a", "不允许运算符 ~", 4),
    ("a ^= 2", "不允许运算符 ^", 0),
    ("b = {**a}", "不允许字典解包（**）", 4),
    ("b = a << 1", "不允许运算符 <<", 4),
])
def test_a_refused_operator_names_its_line_and_column(second_line: str, construct: str, col: int) -> None:
    with pytest.raises(UnsafeExpression) as caught:
        check_source(f"a = 1\n{second_line}", mode="exec")
    assert (str(caught.value), caught.value.line, caught.value.col) == (construct, 2, col)


@pytest.mark.parametrize(("script", "message"), [
    ("x[0] = 1", "不允许赋值给下标（只能给普通名称赋值）"),
    ("a, b = 1, 2", "不允许赋值给多个名称（只能给普通名称赋值）"),
    ("[a, b] = 1, 2", "不允许赋值给多个名称（只能给普通名称赋值）"),
])
def test_assignment_targets_are_named(script: str, message: str) -> None:
    with pytest.raises(UnsafeExpression) as caught:
        check_source(script, mode="exec")
    assert str(caught.value) == message


def test_several_refusals_are_listed_once_each_in_order_at_most_six() -> None:
    with pytest.raises(UnsafeExpression) as caught:
        check_source("a.b + a.c + a.b + open(1)", mode="eval")
    assert str(caught.value) == "不允许调用 'open'；不允许访问属性（.b、.c）"
    with pytest.raises(UnsafeExpression) as caught:
        check_source("[open(1), eval(2), exec(3), open(4), getattr(5), setattr(6), _p, 2 ** 3, vars(7)]",
                     mode="eval")
    assert str(caught.value) == ("不允许调用 'open'；不允许调用 'eval'；"
                                 "不允许调用 'exec'；不允许调用 'getattr'；"
                                 "不允许调用 'setattr'；不允许名称 '_p'")


def test_a_refusal_in_a_running_diagram_keeps_its_reason_first() -> None:
    wf = _workflow("open(&quot;x&quot;) is None", make_script_engine())
    with pytest.raises(SpiffWorkflowException) as caught:
        wf.do_engine_steps()
    message = str(caught.value)
    assert message.startswith("不允许调用 'open'. "), message
