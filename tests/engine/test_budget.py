"""Issue 12, item 6: every diagram expression runs within a budget of size, work and time. What the
source shows is refused when checked (at upload); what it hides is stopped at run time, before it
builds the value, with a message naming the limit. Ordinary expressions are unaffected."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from services.engine.budget import MAX_INT_BITS, MAX_VALUE_SIZE, MAX_WORK, tree_size
from services.engine.sandbox import BudgetExceeded, RestrictedEnvironment, UnsafeExpression, check_source

# The four hostile expressions of issue 12 (as scripts, the way a diagram carries them), and the same
# ones with their literals hidden from the checker.
STATIC = {
    "format width": "n = len('%*s' % (200000000, ''))",
    "huge exponent": "n = int(Decimal('1e2000000'))",
}
HIDDEN = {
    "format width": "w = '%' + '*s'\nn = len(w % (200000000, ''))",
    "huge exponent": "e = '1e' + '2000000'\nn = int(Decimal(e))",
    "doubling": "big = 'x' * 1000\n" + "big = big + big\n" * 40,
    "nested repr": "s = str([[0] * 2000] * 2000)",
}


@pytest.fixture
def env() -> RestrictedEnvironment:
    return RestrictedEnvironment()


@pytest.mark.parametrize(("name", "source"), STATIC.items())
def test_what_the_source_shows_is_refused_when_checked(name: str, source: str) -> None:
    expected = {"format width": "不允许带 `*` 宽度或精度的 `%` 格式化", "huge exponent": "指数超过 ±60"}[name]
    with pytest.raises(UnsafeExpression) as refused:
        check_source(source, mode="exec")
    assert expected in refused.value.message


@pytest.mark.parametrize(("name", "source"), HIDDEN.items())
def test_what_the_source_hides_is_stopped_at_run_time(env: RestrictedEnvironment, name: str, source: str) -> None:
    check_source(source, mode="exec")  # passes the checker
    data: dict[str, Any] = {}
    with pytest.raises(BudgetExceeded) as refused:
        env.execute(source, data)
    assert {"format width": "`*` 宽度", "huge exponent": "指数超过 ±60", "doubling": "超过 100,000 项的值",
            "nested repr": "超过 100000 项的序列"}[name] in str(refused.value)
    assert "n" not in data and "s" not in data


@pytest.mark.parametrize(("source", "message"), [
    ("x = 99999999999\n" + "x = x * x\n" * 12, f"超过 {MAX_INT_BITS} 位的整数"),
    ("y = round(r, d)", "round() 保留超过 60 位"),
    ("y = round(Decimal(e))", "指数超过 ±60"),
    ("y = sum(l, [])", "sum() 只能对数字求和"),
    ("y = str([a, a, a])", "超过 100,000 项的值"),
    ("y = '%s' % (a + a,)", "超过 100,000 项的值"),
    ("\n".join(f"a{i} = 'y' * 99999" for i in range(40)), f"超过 {MAX_WORK:,} 步"),
    ("y = '%5000d' % 1", "宽度或精度超过 1000"),
])
def test_every_way_to_grow_a_value_is_bounded(env: RestrictedEnvironment, source: str, message: str) -> None:
    data = {"r": 12345, "d": -10**9, "e": "1e" + "999999", "l": [[0]] * 1000, "a": [0] * 40_000}
    with pytest.raises((BudgetExceeded, UnsafeExpression)) as refused:
        env.execute(source, data)
    assert message in str(refused.value)


def test_ordinary_expressions_are_unaffected(env: RestrictedEnvironment) -> None:
    data: dict[str, Any] = {"amount_fen": 300_000_00, "cap_fen": 500_000_00, "names": ["a", "b"]}
    env.execute("share = amount_fen * 30 // 100\nlabel = '%s-%05d' % ('M2', 42)\nparts = names + ['c']\n"
                "total = sum([1, 2, 3])\nd = Decimal('1234.56') * 2\nr = round(Decimal('2.675'), 2)\n"
                "big = 'a' * 100000\nrows = [[0] * 300] * 300\nx = 2\nx *= 3", data)
    assert data["share"] == 90_000_00 and data["label"] == "M2-00042" and data["parts"] == ["a", "b", "c"]
    assert data["total"] == 6 and data["d"] == Decimal("2469.12") and data["r"] == Decimal("2.68")
    assert len(data["big"]) == MAX_VALUE_SIZE and data["x"] == 6
    assert env.evaluate("amount_fen <= cap_fen and len(names) == 2", data) is True


def test_tree_size_counts_shared_references_each_time() -> None:
    inner = [0] * 10
    assert tree_size([inner] * 10) == 110 and tree_size("abc") == 3 and tree_size({"k": "vv"}) == 3
    assert tree_size([]) == 1 and tree_size(7) == 1
