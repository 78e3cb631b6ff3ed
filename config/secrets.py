"""The two secrets of an install: the session key and the audit signing key.

A secret that is not given (empty setting) is generated once per install, on first start, and kept
in ``<data_dir>/secrets/<name>`` (mode 0600, directory 0700), so the web service, the worker and the
CLI of one install share it and a restart keeps everyone signed in. A given secret is refused when
it is public (a value this repository ever shipped as a default) or shorter than 32 bytes, in every
environment but ``test``, which runs on fixed public test keys when none is given.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

__all__ = ["MIN_SECRET_BYTES", "PUBLIC_SECRETS", "InsecureSecretError", "check_secret", "install_secret"]

#: 32 bytes (256 bits): the key size of HMAC-SHA256, which both secrets key (RFC 2104 §3 recommends
#: at least the hash output length).
MIN_SECRET_BYTES = 32
#: The test environment's keys when none is given: public, so refused everywhere else.
TEST_SECRET_KEY = "dev-insecure-secret"
TEST_AUDIT_SIGNING_KEY = "dev-insecure-audit-signing-key"
#: Values that are public: shipped by this repository as defaults or examples at some time.
PUBLIC_SECRETS = frozenset({TEST_SECRET_KEY, TEST_AUDIT_SIGNING_KEY, "a-real-secret", "another-real-secret",
                            "a-real-audit-key", "changeme", "change-me", "secret", "smeflow-demo"})


class InsecureSecretError(RuntimeError):
    """A secret is missing, public or too short, or its file is unsafe.

    Not a ValueError on purpose: pydantic lets it through unwrapped, so the message is not followed
    by a dump of the (secret-bearing) input.
    """


def check_secret(variable: str, value: str, environment: str) -> None:
    """Refuse a public or short secret outside the test environment (the message names the variable)."""
    if environment == "test":
        if not value:
            raise InsecureSecretError(f"拒绝启动：{variable} 不能为空")
        return
    if value in PUBLIC_SECRETS:
        raise InsecureSecretError(
            f"拒绝启动：{variable} 是公开的值（随程序提供的默认值或示例，运行环境 {environment}）；"
            f"请删除该设置以自动生成随机值，或设为保密的值")
    if len(value.encode()) < MIN_SECRET_BYTES:
        raise InsecureSecretError(
            f"拒绝启动：{variable} 短于 {MIN_SECRET_BYTES} 字节（运行环境 {environment}）；可用 "
            f"`python -c 'import secrets; print(secrets.token_urlsafe(48))'` 生成")


def install_secret(data_dir: Path, name: str) -> str:
    """The install's secret `name`: read from ``<data_dir>/secrets/<name>``, generated there first if
    missing. Two processes starting at once agree: the file appears whole (hard link of a finished
    temporary file) and the loser of the race reads the winner's."""
    directory = data_dir / "secrets"
    path = directory / name
    try:
        if not path.exists():
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            _create(path)
        return _read(path)
    except OSError as exc:
        raise InsecureSecretError(f"拒绝启动：无法创建或读取自动生成的密钥文件 {path}（{exc.strerror or exc}）；"
                                  f"请让数据目录可写，或在环境变量中设置密钥") from None


def _create(path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):  # another process generated it first: use theirs
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _read(path: Path) -> str:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InsecureSecretError(f"拒绝启动：密钥文件 {path} 其他用户也可访问（权限 {stat.S_IMODE(mode):04o}）；"
                                  f"请执行 `chmod 600`")
    value = path.read_text().strip()
    if len(value.encode()) < MIN_SECRET_BYTES:
        raise InsecureSecretError(f"拒绝启动：密钥文件 {path} 不足 {MIN_SECRET_BYTES} 字节；"
                                  f"删除它即可重新生成")
    return value
