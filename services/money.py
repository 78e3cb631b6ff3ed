"""Money is integer fen; these turn it into yuan text and back, exactly (never a float)."""

from __future__ import annotations

import re
from decimal import Decimal

from services.errors import InvalidInput

_PLAIN = re.compile(r"-?\d{1,15}(\.\d{1,2})?")  # no exponent, no huge numbers: a plain amount in yuan


def yuan(fen: int) -> str:
    """Format fen as yuan with thousands separators and exactly two decimals: 30000000 -> '300,000.00'."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError(f"money must be integer fen, got {type(fen).__name__}")
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def parse_yuan(text: str, field: str = "amount") -> int:
    """Parse a yuan amount ('300000', '12,345.6') into fen exactly; InvalidInput otherwise."""
    cleaned = text.replace(",", "").strip()
    if not _PLAIN.fullmatch(cleaned):
        raise InvalidInput(field, "金额格式无效（单位：元，最多两位小数，例如 250000 或 250,000.50）")
    return int(Decimal(cleaned) * 100)  # the pattern admits at most two decimals: exact, and finite
