"""Edition files for tests, made from the packaged 2022 file and labelled as test data.

Nothing here is a real notice: the code, number and title say so (测试用版本（非真实文件）). The
successor is in force from the day after the 2022 edition ends, with its own award codes.
"""

from __future__ import annotations

from pathlib import Path

from config.policy import POLICY_DIR

PACKAGED = POLICY_DIR / "2022-109.toml"
TEST_CODE = "test-2026-successor"
TEST_TITLE = "测试用版本（非真实文件）"
REAL_TITLE = ("南昌市人民政府办公室关于印发支持优质中小企业发展和公共服务平台、创业创新基地建设的"
              "若干政策措施的通知")


def successor_text(*, code: str = TEST_CODE, start: str = "2025-09-02", until: str = "2099-12-31",
                   award_prefix: str = "test-2026-") -> str:
    """The 2022 file turned into a test edition: other code, number, title, dates and award codes."""
    text = PACKAGED.read_text(encoding="utf-8")
    swaps = [
        ('code = "2022-109"', f'code = "{code}"'),
        ('doc_no = "洪府办发〔2022〕109号"', 'doc_no = "测试文号〔2026〕1号（测试数据）"'),
        (f'title = "{REAL_TITLE}"', f'title = "{TEST_TITLE}"'),
        ("in_force_from = 2022-09-01", f"in_force_from = {start}"),
        ("in_force_until = 2025-09-01", f"in_force_until = {until}"),
        ('code = "m', f'code = "{award_prefix}m'),
    ]
    for old, new in swaps:
        assert old in text, old
        text = text.replace(old, new)
    return text


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path
