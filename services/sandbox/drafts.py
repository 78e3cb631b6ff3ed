"""Which draft, against which edition, on which date, with which take-up: resolved and checked
before anything is read, each problem one :class:`InvalidInput` naming the field and the rule.

A draft is a stored edition (its code) or an edition file not yet loaded, read with the same
validation as the policy loader. Its hash is the SHA-256 of the file's bytes, or for a stored
edition of its canonical JSON, so a recorded simulation names exactly what it priced.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from config.policy import Edition, edition_for
from config.policy_check import check_edition_bytes
from services.errors import InvalidInput
from services.sandbox.model import to_jsonable

__all__ = [
    "MAX_DRAFT_BYTES",
    "Draft",
    "check_as_of",
    "choose_against",
    "parse_take_up",
    "read_draft_file",
    "stored_draft",
]

#: an edition file is a few KiB (the 2022 one is 9 KiB); anything far larger is refused unread
MAX_DRAFT_BYTES = 256 * 1024


@dataclass(frozen=True)
class Draft:
    edition: Edition
    sha256: str
    source: str  # the file name, or "stored"


def read_draft_file(data: bytes, name: str) -> Draft:
    """Parse an edition file's bytes as the loader would; InvalidInput("draft", ...) when it does not validate."""
    if len(data) > MAX_DRAFT_BYTES:
        raise InvalidInput("draft", f"文件超过 {MAX_DRAFT_BYTES // 1024} KiB，不是政策版本文件")
    safe = Path(name).name or "draft.toml"
    issues, edition = check_edition_bytes(data, safe)  # every problem, each naming its field in Chinese
    if edition is None:
        raise InvalidInput("draft", f"政策版本文件未通过校验：{'；'.join(str(i) for i in issues)}")
    return Draft(edition, hashlib.sha256(data).hexdigest(), safe)


def stored_draft(editions: Sequence[Edition], code: str) -> Draft:
    """A stored edition by its code; InvalidInput("draft", ...) when there is none."""
    for edition in editions:
        if edition.code == code:
            digest = getattr(edition, "sha256", "") or hashlib.sha256(
                json.dumps(to_jsonable(edition), sort_keys=True, ensure_ascii=False).encode()).hexdigest()
            return Draft(edition, digest, "stored")
    known = "、".join(e.code for e in editions)
    raise InvalidInput("draft", f"没有代码为 {code!r} 的政策版本，也没有这个文件（已有版本：{known}）")


def choose_against(editions: Sequence[Edition], draft: Edition, code: str | None, as_of: date | None) -> Edition:
    """The edition to compare with: ``code``, else the one in force on the date, else the latest before
    the draft starts. InvalidInput("against", ...) when unknown or when there is none."""
    others = [e for e in editions if e.code != draft.code]
    if code is not None:
        for edition in editions:
            if edition.code == code:
                return edition
        known = "、".join(e.code for e in editions)
        raise InvalidInput("against", f"没有代码为 {code!r} 的政策版本（已有版本：{known}）")
    found = edition_for(others, as_of) if as_of else None
    if found is None:
        earlier = [e for e in others if e.in_force_from <= draft.in_force_from]
        found = max(earlier, key=lambda e: e.in_force_from, default=None)
    if found is None:
        raise InvalidInput("against", "没有可比较的政策版本：请用 --against 指定")
    return found


def check_as_of(as_of: date, draft: Edition, against: Edition) -> None:
    """The date must fall in force of the draft or of the comparison edition."""
    if not (draft.in_force_on(as_of) or against.in_force_on(as_of)):
        raise InvalidInput("as_of", f"测算日期 {as_of} 不在草案（{draft.in_force_from} 至 {draft.in_force_until}）"
                                    f"或比较版本（{against.in_force_from} 至 {against.in_force_until}）的施行期内")


def parse_take_up(text: str) -> Decimal | None:
    """"按实际" (the page's word) or "observed" (the CLI's) → None; otherwise a rate in 0..1 (at most 4
    decimals); InvalidInput("take_up", ...)."""
    cleaned = text.strip()
    if cleaned in ("observed", "按实际"):
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or not Decimal(0) <= value <= Decimal(1) or value.as_tuple().exponent < -4:  # type: ignore[operator]
        raise InvalidInput("take_up", f"领取率须为“按实际”或 0 到 1 之间的小数（最多四位小数），收到 {text[:20]!r}")
    return value
