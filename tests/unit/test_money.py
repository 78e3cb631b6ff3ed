"""Money text in and out: exact fen, and bad amounts refused naming the field and the rule.

Kills `make mutants` survivors in services/money.py (the field and rule of each refusal)."""

from __future__ import annotations

import pytest

from services.errors import InvalidInput
from services.money import parse_yuan

FORMAT = "金额格式无效（单位：元，最多两位小数，例如 250000 或 250,000.50）"


@pytest.mark.parametrize(("text", "fen"), [
    ("250000", 25_000_000), ("250,000.50", 25_000_050), (" 0.01 ", 1), ("-12.3", -1230),
    ("999999999999999", 99_999_999_999_999_900),
])
def test_amounts_in_yuan_become_exact_fen(text: str, fen: int) -> None:
    assert parse_yuan(text) == fen


@pytest.mark.parametrize(("text", "rule"), [
    ("abc", FORMAT), ("1e5", FORMAT), ("1234567890123456", FORMAT), ("", FORMAT), ("NaN", FORMAT),
    ("1.5.0", FORMAT), ("1.234", FORMAT),
])
def test_a_bad_amount_names_the_field_and_the_rule(text: str, rule: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_yuan(text, "award_amount")
    assert (caught.value.field, caught.value.rule) == ("award_amount", rule)


def test_the_field_is_amount_unless_named() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_yuan("x")
    assert (caught.value.field, caught.value.rule) == ("amount", FORMAT)
