"""The audit signing key is refused at its development default outside development/test; the
retention period is a documented setting."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from config.settings import DEV_AUDIT_SIGNING_KEY, InsecureSecretError, Settings, load_defaults


def test_the_development_audit_key_is_refused_outside_development(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SMEFLOW_AUDIT_SIGNING_KEY", "SMEFLOW_SECRET_KEY", "SMEFLOW_ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    assert Settings().audit_signing_key == DEV_AUDIT_SIGNING_KEY  # development
    with pytest.raises(InsecureSecretError, match="SMEFLOW_AUDIT_SIGNING_KEY"):
        Settings(environment="production", secret_key="a-real-secret")
    with pytest.raises(InsecureSecretError, match="must not be empty"):
        Settings(audit_signing_key="")
    monkeypatch.setenv("SMEFLOW_AUDIT_SIGNING_KEY", "a-real-audit-key")
    s = Settings(environment="production", secret_key="a-real-secret")
    assert s.audit_signing_key == "a-real-audit-key" and "a-real-audit-key" not in repr(s)


def test_retention_days_comes_from_defaults_and_must_be_positive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SMEFLOW_RETENTION_DAYS", raising=False)
    assert Settings().retention_days == load_defaults()["retention_days"] == 365
    monkeypatch.setenv("SMEFLOW_RETENTION_DAYS", "730")
    assert Settings().retention_days == 730
    with pytest.raises(ValidationError, match="retention_days"):
        Settings(retention_days=0)
