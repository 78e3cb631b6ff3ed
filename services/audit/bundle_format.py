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


def unseal(raw: bytes, *, key: str | None = None, name: str = "bundle") -> Unsealed:
    """Check a bundle file's bytes and return its body; BundleInvalid says what is wrong."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BundleInvalid(f"{name} is damaged or altered: it is not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or set(doc) != {"format", "bundle", "seal"}:
        raise BundleInvalid(f"{name} is not an evidence bundle (expected format, bundle and seal)")
    if doc["format"] != FORMAT:
        raise BundleInvalid(f"{name} has format {str(doc['format'])[:60]!r}; expected {FORMAT!r} (altered, or "
                            "written by another version)")
    expected = canonical(doc)
    if expected != raw:
        at = _first_byte_difference(raw, expected)
        raise BundleInvalid(f"{name} was altered: its bytes are not those written at export (first difference "
                            f"at byte {at})")
    body, stamp = doc["bundle"], doc["seal"]
    if not isinstance(body, dict) or not isinstance(stamp, dict) or set(stamp) != {"sha256", "hmac_sha256",
                                                                                    "key_id"}:
        raise BundleInvalid(f"{name} is not an evidence bundle (its bundle or seal is malformed)")
    signature, key_id = str(stamp["hmac_sha256"]), str(stamp["key_id"])
    digest = _digest(body, signature, key_id)
    if digest != stamp["sha256"]:
        raise BundleInvalid(f"{name} was altered: the SHA-256 of its content is {digest[:16]}…, the seal says "
                            f"{str(stamp['sha256'])[:16]}…")
    checked = False
    if key is not None:
        if not signing.verify(key, canonical({"format": FORMAT, "bundle": body}), signature):
            raise BundleInvalid(f"{name}'s signature does not verify with the signing key (key id "
                                f"{signing.key_id(key)}; the bundle names key id {key_id}): "
                                "altered and re-sealed, or signed with another key")
        checked = True
    return Unsealed(body, digest, key_id, checked)


def case_record(body: dict[str, Any], *, name: str = "bundle") -> CaseRecord:
    """The case record inside a bundle body."""
    try:
        return record_from_json(body["case"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleInvalid(f"{name} does not hold a readable case record ({type(exc).__name__}: {exc})") from None


def read_archive(data_dir: Path, relative: str, sha256: str) -> CaseRecord:
    """The case record of an archive bundle, checked against the SHA-256 its archive row recorded."""
    path = Path(data_dir) / relative
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BundleInvalid(f"archive bundle {relative} cannot be read: {exc.strerror}") from None
    digest = hashlib.sha256(raw).hexdigest()
    if digest != sha256:
        raise BundleInvalid(f"archive bundle {relative} was altered: its SHA-256 is {digest[:16]}…, the archive "
                            f"record says {sha256[:16]}…")
    return case_record(unseal(raw, name=f"archive bundle {relative}").body, name=relative)
