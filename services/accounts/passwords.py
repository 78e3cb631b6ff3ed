"""What a new password must be (NIST SP 800-63B 5.1.1.2): at least 8 characters (at most 200), not on
the list of common passwords (config/common-passwords.txt.gz, its source in
config/common-passwords.SOURCE.txt), not trivial (one or a few characters repeated, a run such as
12345678 or abcdefgh, a run along a keyboard row), and not containing the username."""

from __future__ import annotations

import gzip
import itertools
from functools import lru_cache
from pathlib import Path

import config
from services.errors import InvalidInput

COMMON_LIST = Path(config.__file__).resolve().parent / "common-passwords.txt.gz"
MIN_LENGTH, MAX_LENGTH = 8, 200
_ROWS = ("1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm", "abcdefghijklmnopqrstuvwxyz")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list, lowercased (read once per process)."""
    with gzip.open(COMMON_LIST, "rt", encoding="utf-8") as fh:
        return frozenset(line.strip().lower() for line in fh if line.strip())


def check_new_password(password: str, *, username: str = "", field: str = "password") -> None:
    """InvalidInput(field) naming the rule a new password breaks; nothing when it is acceptable."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(field, f"密码至少 {MIN_LENGTH} 位")
    if len(password) > MAX_LENGTH:
        raise InvalidInput(field, f"密码最多 {MAX_LENGTH} 位")
    lowered = password.lower()
    if not password.strip() or len(set(lowered)) < 4:
        raise InvalidInput(field, "密码过于简单：不能只由空白或少数几个字符重复组成")
    if _is_run(lowered):
        raise InvalidInput(field, "密码过于简单：不能是 12345678、abcdefgh、qwertyui 这样的连续字符")
    if len(username) >= 3 and username.lower() in lowered:
        raise InvalidInput(field, "密码不能包含用户名")
    if lowered in common_passwords():
        raise InvalidInput(field, "密码过于常见（在常见密码表中），请换一个")


def _is_run(lowered: str) -> bool:
    """A run of successive characters, ascending or descending, or along one keyboard row."""
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(lowered)}
    if steps in ({1}, {-1}):
        return True
    return any(lowered in row or lowered in row[::-1] for row in _ROWS)
