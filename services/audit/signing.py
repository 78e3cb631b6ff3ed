"""HMAC-SHA256 signatures with the audit signing key (settings `audit_signing_key`).

Used for the daily statements of the audit chain head (services/audit/anchors.py) and for evidence
bundles (services/audit/bundle_format.py). A key is named by a short fingerprint (`key_id`), never shown.
"""

from __future__ import annotations

import hashlib
import hmac


def sign(key: str, message: bytes) -> str:
    """The hex HMAC-SHA256 of `message` under `key`."""
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def verify(key: str, message: bytes, signature: str) -> bool:
    """Whether `signature` is the HMAC-SHA256 of `message` under `key` (constant-time compare)."""
    return hmac.compare_digest(sign(key, message), signature)


def key_id(key: str) -> str:
    """A 16-hex-digit fingerprint naming the key (an HMAC of a fixed label, so it reveals nothing)."""
    return sign(key, b"smeflow audit signing key id")[:16]
