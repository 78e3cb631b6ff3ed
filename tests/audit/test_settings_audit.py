"""The audit signing key is refused at its development default outside development/test; the
retention period is a documented setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from config.settings import DEV_AUDIT_SIGNING_KEY, InsecureSecretError, Settings, load_defaults


def test_the_public_audit_key_is_refused_outside_test(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("SMEFLOW_AUDIT_SIGNING_KEY", "SMEFLOW_SECRET_KEY", "SMEFLOW_ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    assert Settings(environment="test").audit_signing_key == DEV_AUDIT_SIGNING_KEY
    generated = Settings(data_dir=tmp_path).audit_key()  # development: generated, not the public one
    assert generated != DEV_AUDIT_SIGNING_KEY and len(generated) >= 32
    with pytest.raises(InsecureSecretError, match="SMEFLOW_AUDIT_SIGNING_KEY 是公开的值"):
        Settings(environment="production", secret_key="s" * 32, audit_signing_key=DEV_AUDIT_SIGNING_KEY)
    with pytest.raises(InsecureSecretError, match="SMEFLOW_AUDIT_SIGNING_KEY 是公开的值"):
        Settings(environment="development", data_dir=tmp_path, audit_signing_key=DEV_AUDIT_SIGNING_KEY)
    monkeypatch.setenv("SMEFLOW_AUDIT_SIGNING_KEY", "a-real-audit-key-of-more-than-32-bytes")
    s = Settings(environment="production", secret_key="s" * 32)
    assert s.audit_signing_key == "a-real-audit-key-of-more-than-32-bytes"
    assert "a-real-audit-key" not in repr(s)


def test_retention_days_comes_from_defaults_and_must_be_positive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMEFLOW_RETENTION_DAYS", raising=False)
    assert Settings().retention_days == load_defaults()["retention_days"] == 365
    monkeypatch.setenv("SMEFLOW_RETENTION_DAYS", "730")
    assert Settings().retention_days == 730
    with pytest.raises(ValidationError, match="retention_days"):
        Settings(retention_days=0)
