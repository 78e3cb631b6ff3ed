"""The evidence bundle file: one JSON document, sealed so that any changed byte is detected.

The file is exactly `canonical({"format": FORMAT, "bundle": <body>, "seal": <seal>})` (orjson,
sorted keys, no whitespace). The seal holds the HMAC-SHA256 of the format and body under the audit
signing key, the key's id, and a SHA-256 over everything else in the file. Reading checks, in
order: the file is JSON; it is byte-for-byte the canonical form (so even a changed space or escape
is caught); the format; the seal's SHA-256 (format, body, signature, key id), so any changed byte
fails even without the key; and, when a key is given, the signature, which a forger who edits and
re-seals a bundle cannot recompute. Each failure is a `BundleInvalid` whose message says what is
wrong and where. Nothing here touches a database.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from services.audit import signing
from services.audit.replay_record import CaseRecord, record_from_json
from services.errors import SmeflowError

FORMAT = "smeflow.evidence-bundle/1"


class BundleInvalid(SmeflowError):
    """The bundle is damaged, altered, or not a bundle; the message says which and where."""


@dataclass(frozen=True)
class Unsealed:
    body: dict[str, Any]
    sha256: str  # the seal: SHA-256 over format, body, signature and key id
    key_id: str  # the key the bundle says it was signed with
    signature_checked: bool  # False when no key was given to check it with


def canonical(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _digest(body: dict[str, Any], signature: str, key_id: str) -> str:
    """SHA-256 over everything in the file but itself: format, body, signature and key id."""
    return hashlib.sha256(canonical({"format": FORMAT, "bundle": body, "hmac_sha256": signature,
                                     "key_id": key_id})).hexdigest()


def seal(body: dict[str, Any], *, key: str) -> bytes:
    """The bundle file's bytes for `body`: signed with `key` and sealed with a SHA-256 of the rest."""
    signature = signing.sign(key, canonical({"format": FORMAT, "bundle": body}))
    key_id = signing.key_id(key)
    stamp = {"sha256": _digest(body, signature, key_id), "hmac_sha256": signature, "key_id": key_id}
    return canonical({"format": FORMAT, "bundle": body, "seal": stamp})


def _first_byte_difference(a: bytes, b: bytes) -> int:
    return next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))


def unseal(raw: bytes, *, key: str | None = None, name: str = "证据包") -> Unsealed:
    """Check a bundle file's bytes and return its body; BundleInvalid says what is wrong."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BundleInvalid(f"{name} 已损坏或被改动：不是有效的 JSON（第 {exc.pos} 个字符处）") from None
    if not isinstance(doc, dict) or set(doc) != {"format", "bundle", "seal"}:
        raise BundleInvalid(f"{name} 不是证据包（应由格式、内容和封印三部分组成）")
    if doc["format"] != FORMAT:
        raise BundleInvalid(f"{name} 的格式为 {str(doc['format'])[:60]!r}，应为 {FORMAT!r}（被改动，或由其他版本"
                            "写出）")
    expected = canonical(doc)
    if expected != raw:
        at = _first_byte_difference(raw, expected)
        raise BundleInvalid(f"{name} 被改动：其字节不是导出时写入的字节（自第 {at} 字节起不同）")
    body, stamp = doc["bundle"], doc["seal"]
    if not isinstance(body, dict) or not isinstance(stamp, dict) or set(stamp) != {"sha256", "hmac_sha256",
                                                                                    "key_id"}:
        raise BundleInvalid(f"{name} 不是证据包（其内容或封印的结构不符）")
    signature, key_id = str(stamp["hmac_sha256"]), str(stamp["key_id"])
    digest = _digest(body, signature, key_id)
    if digest != stamp["sha256"]:
        raise BundleInvalid(f"{name} 被改动：内容的 SHA-256 为 {digest[:16]}…，封印记载为 "
                            f"{str(stamp['sha256'])[:16]}…")
    checked = False
    if key is not None:
        if not signing.verify(key, canonical({"format": FORMAT, "bundle": body}), signature):
            raise BundleInvalid(f"{name} 的签名无法用本系统的签名密钥核验（密钥编号 {signing.key_id(key)}；"
                                f"证据包记载的密钥编号为 {key_id}）：被改动后重新封印，或用其他密钥签名")
        checked = True
    return Unsealed(body, digest, key_id, checked)


def case_record(body: dict[str, Any], *, name: str = "证据包") -> CaseRecord:
    """The case record inside a bundle body."""
    try:
        return record_from_json(body["case"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleInvalid(f"{name} 中的案件记录无法读取：{malformed(exc)}") from None


def read_archive(data_dir: Path, relative: str, sha256: str) -> CaseRecord:
    """The case record of an archive bundle, checked against the SHA-256 its archive row recorded."""
    path = Path(data_dir) / relative
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BundleInvalid(f"归档证据包 {relative} 无法读取：{read_failure(exc)}") from None
    digest = hashlib.sha256(raw).hexdigest()
    if digest != sha256:
        raise BundleInvalid(f"归档证据包 {relative} 被改动：其 SHA-256 为 {digest[:16]}…，归档记录记载为 "
                            f"{sha256[:16]}…")
    return case_record(unseal(raw, name=f"归档证据包 {relative}").body, name=f"归档证据包 {relative}")


#: what the parts of a bundle are called; a message names a missing part by it, its key after it
PART_LABELS = {"case": "案件记录", "chain": "审计链证明", "environment": "运行环境设置", "events": "审计事件",
               "definitions": "流程图", "instance": "流程实例", "work_items": "待办记录", "timers": "计时器",
               "application": "申请", "payouts": "拨付记录", "links": "审计链链接", "stage_limits": "办理时限",
               "timezone": "时区", "from_seq": "证明起点", "to_seq": "证明终点", "hashes": "事件哈希",
               "prev_hash": "前一事件哈希"}


def malformed(exc: Exception) -> str:
    """What is wrong with a bundle's content: `缺少审计链证明 chain`, or that its form does not fit."""
    if isinstance(exc, KeyError) and exc.args:
        key = str(exc.args[0])
        return f"缺少{PART_LABELS.get(key, '一项内容')} {key}"
    return "内容的格式不符"


def read_failure(exc: OSError) -> str:
    """Why a file cannot be read, in Chinese (the OS's own text is English)."""
    if isinstance(exc, FileNotFoundError):
        return "文件不存在"
    if isinstance(exc, PermissionError):
        return "没有读取权限"
    if isinstance(exc, IsADirectoryError):
        return "这是一个目录，不是文件"
    return "读取失败"
