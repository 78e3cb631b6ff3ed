"""Runtime settings of smeflow (pydantic-settings, environment prefix ``SMEFLOW_``).

Defaults come from ``config/defaults.toml``, where each one is documented with
its basis; the notice fixes none of them, so this module holds no policy value.
Override any field from the environment, e.g. ``SMEFLOW_DATABASE_URL``,
``SMEFLOW_STAGE_LIMITS='{"district_check": 5}'`` (merged over the defaults) or
``SMEFLOW_STAGE_LIMITS__BUREAU_REVIEW=20``; or pass keyword arguments to
``Settings(...)`` in tests.
"""

from __future__ import annotations

import tomllib
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from config import settings_checks as checks
from config.secrets import TEST_AUDIT_SIGNING_KEY, TEST_SECRET_KEY, InsecureSecretError, check_secret, install_secret

__all__ = [
    "DEFAULTS_FILE",
    "DEV_AUDIT_SIGNING_KEY",
    "DEV_ENVIRONMENTS",
    "DEV_SECRET_KEY",
    "InsecureSecretError",
    "Settings",
    "get_settings",
    "load_defaults",
]

DEFAULTS_FILE = Path(__file__).parent / "defaults.toml"

#: The test environment's public session key (used when none is given there); refused elsewhere.
DEV_SECRET_KEY = TEST_SECRET_KEY
#: The test environment's public audit signing key; refused likewise.
DEV_AUDIT_SIGNING_KEY = TEST_AUDIT_SIGNING_KEY
#: Where the demo, its accounts and a fixed clock are allowed.
DEV_ENVIRONMENTS = frozenset({"development", "test"})
_DEV_ENVIRONMENTS = DEV_ENVIRONMENTS


Environment = Literal["development", "test", "staging", "production"]


@lru_cache(maxsize=1)
def load_defaults(path: Path = DEFAULTS_FILE) -> dict[str, Any]:
    """Return the documented defaults of ``config/defaults.toml`` as a dict."""
    with path.open("rb") as fh:
        return tomllib.load(fh)


def _default(key: str) -> Any:
    """Return the default of ``key`` from defaults.toml; KeyError names the key."""
    defaults = load_defaults()
    if key not in defaults:
        raise KeyError(f"{DEFAULTS_FILE}: missing default {key!r}")
    value = defaults[key]
    return dict(value) if isinstance(value, dict) else value


class Settings(BaseSettings):
    """All settings of smeflow; each default's basis is documented in defaults.toml."""

    model_config = SettingsConfigDict(
        env_prefix="SMEFLOW_",
        env_nested_delimiter="__",
        extra="ignore",
        validate_default=True,
    )

    _installed: dict[str, str] = PrivateAttr(default_factory=dict)

    environment: Environment = Field(
        default_factory=lambda: _default("environment"),
        description="Deployment environment: public secrets are refused outside test, the demo outside "
        "development/test; production always marks the session cookie Secure.",
    )
    data_dir: Path = Field(
        default_factory=lambda: Path(_default("data_dir")),
        description="Directory for the embedded SQLite database and other local files.",
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy database URL; empty means sqlite:///<data_dir>/smeflow.db.",
    )
    secret_key: str = Field(
        default="",
        repr=False,
        description="Secret signing the session cookies; empty: generated once under <data_dir>/secrets. "
        "Public or shorter than 32 bytes is refused outside test.",
    )
    audit_signing_key: str = Field(
        default="",
        repr=False,
        description="HMAC-SHA256 key signing the daily audit chain statements and evidence bundles; empty: "
        "generated once under <data_dir>/secrets. Public or shorter than 32 bytes is refused outside test.",
    )
    retention_days: int = Field(
        default_factory=lambda: _default("retention_days"),
        gt=0,
        description="Days after a case closed before `smeflow audit archive` moves it to an evidence bundle.",
    )
    audit_verify_max_age_minutes: int = Field(
        default_factory=lambda: _default("audit_verify_max_age_minutes"),
        gt=0,
        description="Age of the latest full walk of the audit chain after which the auditor's pages walk it again.",
    )
    timezone: str = Field(
        default_factory=lambda: _default("timezone"),
        description="IANA time zone of the authorities; deadlines end at local midnight.",
    )
    stage_limits: dict[str, int] = Field(
        default_factory=lambda: _default("stage_limits"),
        description="Time limit of each review stage in working days (工作日), keyed by stage.",
    )
    honours_highest_only: bool = Field(
        default_factory=lambda: _default("honours_highest_only"),
        description="就高不重复: pay an enterprise with several honours for the same thing only the highest.",
    )
    arrears_acceptance_arrangement: str = Field(
        default_factory=lambda: _default("arrears_acceptance_arrangement"),
        max_length=200,
        description="The local arrangement under which the city bureau reviews complaints for the province ('' none).",
    )
    arrears_debtor_reply_days: int = Field(
        default_factory=lambda: _default("arrears_debtor_reply_days"),
        ge=1,
        le=365,
        description="Calendar days the debtor has to answer a handling result (the regulation fixes none).",
    )
    arrears_confirmation_reminder_working_days: int = Field(
        default_factory=lambda: _default("arrears_confirmation_reminder_working_days"),
        ge=1,
        le=20,
        description="Working days before a 确权 request's last day that its reminder goes out (not law).",
    )
    arrears_handling_days_without_statute: int = Field(
        default_factory=lambda: _default("arrears_handling_days_without_statute"),
        ge=1,
        le=365,
        description="Calendar days to a written result for complaints accepted before 2025-06-01 (2020 text: 及时).",
    )
    arrears_handling_max_days_without_statute: int = Field(
        default_factory=lambda: _default("arrears_handling_max_days_without_statute"),
        ge=1,
        le=365,
        description="Longest approved extension, in calendar days, for complaints accepted before 2025-06-01.",
    )
    district_matching_percent: int = Field(
        default_factory=lambda: _default("district_matching_percent"),
        ge=0,
        le=100,
        description="Share (percent) of each payout drawn from the district's matching fund (配套) of the "
        "budget year; the rest from the city's special fund.",
    )
    editions_recheck_seconds: float = Field(
        default_factory=lambda: _default("editions_recheck_seconds"),
        ge=0,
        le=300,
        description="Seconds between two checks whether another process loaded a policy edition.",
    )
    reminder_lead_working_days: int = Field(
        default_factory=lambda: _default("reminder_lead_working_days"),
        ge=0,
        description="Working days before a deadline when a reminder is sent.",
    )
    escalate_after_working_days: int = Field(
        default_factory=lambda: _default("escalate_after_working_days"),
        ge=0,
        description="Working days overdue after which a task is escalated.",
    )
    smtp_host: str = Field(
        default_factory=lambda: _default("smtp_host"), description="SMTP server host for notifications."
    )
    smtp_port: int = Field(
        default_factory=lambda: _default("smtp_port"), gt=0, lt=65536, description="SMTP server port."
    )
    smtp_starttls: bool = Field(
        default_factory=lambda: _default("smtp_starttls"),
        description="Upgrade the SMTP connection with STARTTLS.",
    )
    smtp_tls: bool = Field(
        default_factory=lambda: _default("smtp_tls"), description="Connect to SMTP over implicit TLS."
    )
    smtp_user: str = Field(
        default_factory=lambda: _default("smtp_user"), description="SMTP user name; empty for no login."
    )
    smtp_password: str = Field(
        default_factory=lambda: _default("smtp_password"), repr=False, description="SMTP password."
    )
    mail_from: str = Field(
        default_factory=lambda: _default("mail_from"), description="Sender address of notification mail."
    )
    outbox_max_attempts: int = Field(
        default_factory=lambda: _default("outbox_max_attempts"),
        gt=0,
        description="Delivery attempts of an outbox message before it is given up.",
    )
    sweep_interval_seconds: int = Field(
        default_factory=lambda: _default("sweep_interval_seconds"),
        gt=0,
        description="Seconds between two runs of the deadline sweep flow (smeflow worker).",
    )
    outbox_interval_seconds: int = Field(
        default_factory=lambda: _default("outbox_interval_seconds"),
        gt=0,
        description="Seconds between two runs of the mail outbox flow (smeflow worker).",
    )
    reminders_cron: str = Field(
        default_factory=lambda: _default("reminders_cron"),
        description="Cron schedule of the daily reminder digest, in the settings time zone.",
    )
    prefect_port: int = Field(
        default_factory=lambda: _default("prefect_port"),
        gt=0,
        lt=65536,
        description="Port of the local Prefect server that smeflow worker starts when PREFECT_API_URL is unset.",
    )
    worker_heartbeat_seconds: int = Field(
        default_factory=lambda: _default("worker_heartbeat_seconds"),
        ge=5,
        le=3600,
        description="Seconds between two heartbeats of smeflow worker; the dashboard calls a worker silent "
                    "after three missed beats.",
    )
    gc_young_threshold: int = Field(
        default_factory=lambda: _default("gc_young_threshold"),
        ge=0,
        le=10_000_000,
        description="Allocations between two young-generation runs of Python's cyclic garbage collector in "
                    "every smeflow process (gc.set_threshold; 0 leaves Python's default of 700).",
    )
    mail_sink: Literal["auto", "on", "off"] = Field(
        default_factory=lambda: _default("mail_sink"),
        description="Whether smeflow up starts the local mail sink (aiosmtpd, every message kept under "
                    "<data_dir>/mailbox): auto = in development and test when the SMTP host is this machine.",
    )
    upload_max_bytes: int = Field(
        default_factory=lambda: _default("upload_max_bytes"),
        gt=0,
        description="Largest supporting file an applicant may upload, in bytes.",
    )
    upload_max_files: int = Field(
        default_factory=lambda: _default("upload_max_files"),
        gt=0,
        description="Most supporting files one application may carry.",
    )
    pool_import_max_bytes: int = Field(
        default_factory=lambda: _default("pool_import_max_bytes"),
        gt=0,
        description="Largest recognition list the pool import accepts, in bytes.",
    )
    arrears_import_max_bytes: int = Field(
        default_factory=lambda: _default("arrears_import_max_bytes"), gt=0,
        description="Largest arrears ledger (CSV or XLSX) the ledger import page accepts, in bytes.")
    request_max_body_bytes: int = Field(
        default_factory=lambda: _default("request_max_body_bytes"), gt=0,
        description="Largest body of a request that carries no files (JSON or form), in bytes.")
    request_body_timeout_seconds: float = Field(
        default_factory=lambda: _default("request_body_timeout_seconds"), gt=0,
        description="Seconds a client has to send a body, on top of what its size needs at the rate below.")
    request_body_min_bytes_per_second: int = Field(
        default_factory=lambda: _default("request_body_min_bytes_per_second"), gt=0,
        description="Slowest upload rate allowed for a body, in bytes per second.")
    hsts_max_age_seconds: int = Field(
        default_factory=lambda: _default("hsts_max_age_seconds"), ge=0,
        description="max-age of Strict-Transport-Security on answers served over HTTPS (0: no header).")
    offer_reminder_lead_working_days: int = Field(
        default_factory=lambda: _default("offer_reminder_lead_working_days"),
        ge=0,
        description="Working days before an offer lapses when the enterprise is reminded.",
    )
    higher_award_after_lower_paid: Literal["difference", "none"] = Field(
        default_factory=lambda: _default("higher_award_after_lower_paid"),
        description="就高不重复 after a lower award of the measure was paid: pay the difference, or nothing.",
    )
    offer_commitments: list[str] = Field(
        default_factory=lambda: _default("offer_commitments"),
        description="What an enterprise confirms when it accepts an offer (免申即享).",
    )
    policy_dir: Path | None = Field(
        default=None, description="Directory of policy edition files; None means the packaged config/policy."
    )
    calendar_dir: Path | None = Field(
        default=None,
        description="Extra directory of holiday calendar files <year>.toml (besides the packaged ones).",
    )
    calendar_package_through: int | None = Field(
        default=None,
        ge=2004,
        description="Take holidays from the chinesecalendar package only up to this year (None: every year it "
        "carries); later years come from year files or are provisional. For tests and for rehearsing a year "
        "file before upgrading the package.",
    )
    clock: datetime | None = Field(
        default=None,
        description="A fixed 'now' for the CLI and the flows (ISO 8601 with its offset, e.g. "
        "2024-06-03T10:00+08:00), so tests and rehearsals run at a chosen instant; honoured only in "
        "development and test, refused elsewhere. None: the system clock.",
    )
    argon2_time_cost: int = Field(
        default=3, ge=1, description="argon2id passes when hashing a password (RFC 9106 second recommendation)."
    )
    argon2_memory_kib: int = Field(
        default=65536, ge=8, description="argon2id memory in KiB when hashing a password (64 MiB)."
    )

    session_hours: int = Field(default_factory=lambda: _default("session_hours"), ge=1, le=24 * 30,
                               description="Hours a sign-in lasts (server-side session record).")
    api_token_days: int = Field(default_factory=lambda: _default("api_token_days"), ge=1, le=3660,
                                description="Longest lifetime of an API token, in days (and its default).")
    login_max_failures_per_account: int = Field(
        default_factory=lambda: _default("login_max_failures_per_account"), ge=1,
        description="Failed sign-ins for one username within the window that lock it for the lockout time.")
    login_max_failures_per_address: int = Field(
        default_factory=lambda: _default("login_max_failures_per_address"), ge=1,
        description="Failed sign-ins from one client address within the window that lock the address.")
    login_failure_window_minutes: int = Field(default_factory=lambda: _default("login_failure_window_minutes"),
                                              ge=1, description="Window in which failed sign-ins are counted.")
    login_lockout_minutes: int = Field(default_factory=lambda: _default("login_lockout_minutes"), ge=1,
                                       description="How long a locked username or address is refused.")
    forwarded_allow_ips: str = Field(
        default_factory=lambda: _default("forwarded_allow_ips"), max_length=2000,
        description="Comma-separated proxy addresses (or networks) whose X-Forwarded-For/-Proto `smeflow serve` "
        "trusts; empty trusts none.")

    @field_validator("stage_limits", mode="before")
    @classmethod
    def _merge_stage_limits(cls, value: Any) -> Any:
        """Merge a partial override over the defaults and reject unknown stages."""
        return checks.merge_stage_limits(value, _default("stage_limits"))

    @field_validator("stage_limits")
    @classmethod
    def _positive_limits(cls, value: dict[str, int]) -> dict[str, int]:
        return checks.positive_limits(value)

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _proxy_addresses(cls, value: str) -> str:
        return checks.proxy_addresses(value)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return checks.known_timezone(value)

    @model_validator(mode="after")
    def _finish(self) -> Settings:
        self._secrets()
        checks.fixed_clock(self.clock, self.environment, _DEV_ENVIRONMENTS)
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir.as_posix()}/smeflow.db"
        return self

    def _secrets(self) -> None:
        """Fixed public secrets in test when none is given; elsewhere refuse weak given ones (an empty one
        is generated on first use, see session_secret and audit_key)."""
        test = self.environment == "test"
        if test:
            self.secret_key = self.secret_key or TEST_SECRET_KEY
            self.audit_signing_key = self.audit_signing_key or TEST_AUDIT_SIGNING_KEY
        for variable, value in (("SMEFLOW_SECRET_KEY", self.secret_key),
                                ("SMEFLOW_AUDIT_SIGNING_KEY", self.audit_signing_key)):
            if value or test:
                check_secret(variable, value, self.environment)
        if not test and self.secret_key and self.secret_key == self.audit_signing_key:
            raise InsecureSecretError("拒绝启动：SMEFLOW_SECRET_KEY 与 SMEFLOW_AUDIT_SIGNING_KEY 不能相同")

    def session_secret(self) -> str:
        """The key signing session cookies: the setting, else the install's generated one."""
        return self.secret_key or self._generated("session_key")

    def audit_key(self) -> str:
        """The audit signing key: the setting, else the install's generated one."""
        return self.audit_signing_key or self._generated("audit_signing_key")

    def _generated(self, name: str) -> str:
        if name not in self._installed:
            self._installed[name] = install_secret(self.data_dir, name)
        return self._installed[name]

    @property
    def calendar_install_dir(self) -> Path:
        """Where `smeflow calendar load` installs year files: calendar_dir, else <data_dir>/calendar."""
        return self.calendar_dir if self.calendar_dir is not None else self.data_dir / "calendar"

    def stage_limit(self, stage: str) -> int:
        """Return the time limit of ``stage`` in working days; KeyError for an unknown stage."""
        try:
            return self.stage_limits[stage]
        except KeyError:
            raise KeyError(f"unknown stage {stage!r}; known stages: {sorted(self.stage_limits)}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings (cached; ``get_settings.cache_clear()`` in tests)."""
    return Settings()
