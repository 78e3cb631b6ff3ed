"""zh-CN names of the stored application statuses, in the kernel so that every layer (the auditor's
index in services.audit as well as services.awards) names a status the same way."""

from __future__ import annotations

APPLICATION_STATUS = {"running": "办理中", "paid": "已拨付", "rejected": "不予通过", "completed": "已办结",
                      "lapsed": "逾期失效", "declined": "企业放弃"}


def one_of(names: dict[str, str], codes: tuple[str, ...] | None = None) -> str:
    """`办理中、已拨付、不予通过`: the Chinese names of the allowed values, for `须为 … 之一`."""
    return "、".join(names.get(c, c) for c in (codes if codes is not None else tuple(names)))
