"""Settings read from the environment, with embedded defaults outside production."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from flask import Flask

from kernel import passwords
from kernel.phones import caller_e164, region_of
from kernel.private_files import private_dir, tighten

PRODUCTION_SECRETS = ("TWILIO_AUTH_TOKEN", "SECRET_KEY", "PIN_PEPPER", "PUBLIC_BASE_URL")
# Keys we derive from: shorter than this, a stolen database or cookie can be brute-forced.
KEYS_NEEDING_LENGTH = ("SECRET_KEY", "PIN_PEPPER")
MIN_KEY_LENGTH = 32
# Twilio's webhook forms are a few kilobytes; nothing the service takes in is near 1 MB.
DEFAULT_MAX_CONTENT_LENGTH = 1024 * 1024
DEFAULT_TWILIO_API_BASE_URL = "https://api.twilio.com"
# Without real Twilio credentials, outgoing calls go to the local phone simulator (hotline call).
DEFAULT_SIMULATOR_PORT = 8010
DEFAULT_SEVERITY_TARGETS = {1: 30, 2: 240, 3: 1440, 4: 4320}


class ConfigError(Exception):
    """A setting is missing or invalid; the message is one line naming it."""


# --- Notification pipeline (NOTIFY_*) ---------------------------------------------------------
# Part of Settings, so create_app(test_config) sets them like any other setting.


class SmsBackend(str, Enum):
    """Where SMS go: Twilio when its credentials are configured (auto), Twilio, or the console."""

    AUTO = "auto"
    TWILIO = "twilio"
    CONSOLE = "console"


# Four missed beats: a worker busy in a job on a loaded machine still beats in time.
HEARTBEATS_TO_DEATH = 4


@dataclass(frozen=True)
class NotifySettings:
    """Retry, relay and sender settings of the notification pipeline; defaults suit production."""

    # 5 attempts, waits of 2, 4, 8 and 16 minutes between them: about 30 minutes in all.
    max_attempts: int = 5
    retry_base_seconds: float = 120.0
    # A claim older than this belongs to a dead worker (longer than the job timeout).
    claim_timeout: float = 120.0
    job_timeout: int = 60
    # Polling an idle outbox is one indexed SELECT; this sets the wait from commit to enqueue.
    relay_interval: float = 0.05
    sweep_interval: float = 5.0
    # A worker stamps its RQ hash this often while alive; a job whose worker's stamp is
    # HEARTBEATS_TO_DEATH beats old is freed by the sweeper long before the claim timeout.
    heartbeat_seconds: float = 2.0
    # Enqueued rows younger than this are not checked: their job is surely still queued.
    sweep_grace: float = 30.0
    batch_size: int = 500
    # Rows per RQ job: one job claims, sends and records them together (three round trips to
    # the database for the lot instead of five per row, and RQ's own cost once per batch).
    job_batch: int = 25
    # Sends in flight at once within a job: Twilio answers in 100-300 ms, so one at a time
    # would cap a worker at a few messages a second whatever the database does.
    send_concurrency: int = 8
    sms_validity_seconds: int = 900
    http_timeout: float = 10.0
    sms_backend: SmsBackend = SmsBackend.AUTO
    email_from: str = ""

    @property
    def heartbeat_stale_seconds(self) -> float:
        """How old a worker's last heartbeat is when the worker is taken for dead."""
        return self.heartbeat_seconds * HEARTBEATS_TO_DEATH

    def retry_delay(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failed attempt (exponential)."""
        return float(self.retry_base_seconds * 2 ** max(0, attempts - 1))


def load_notify_settings(env: Mapping[str, str]) -> NotifySettings:
    """NotifySettings from the NOTIFY_* variables of `env`; raise ConfigError naming a bad one."""
    d = NotifySettings()
    backend = env.get("NOTIFY_SMS_BACKEND", "").strip().lower() or d.sms_backend.value
    if backend not in {b.value for b in SmsBackend}:
        raise ConfigError(f"NOTIFY_SMS_BACKEND must be auto, twilio or console, got {backend!r}")
    return NotifySettings(
        max_attempts=_int_setting(env, "NOTIFY_MAX_ATTEMPTS", d.max_attempts, 1, 100),
        retry_base_seconds=_float_setting(
            env, "NOTIFY_RETRY_BASE_SECONDS", d.retry_base_seconds, 0.01, 86400
        ),
        claim_timeout=_float_setting(env, "NOTIFY_CLAIM_TIMEOUT", d.claim_timeout, 0.1, 86400),
        job_timeout=_int_setting(env, "NOTIFY_JOB_TIMEOUT", d.job_timeout, 1, 3600),
        relay_interval=_float_setting(env, "NOTIFY_RELAY_INTERVAL", d.relay_interval, 0.01, 60),
        sweep_interval=_float_setting(env, "NOTIFY_SWEEP_INTERVAL", d.sweep_interval, 0.05, 3600),
        sweep_grace=_float_setting(env, "NOTIFY_SWEEP_GRACE", d.sweep_grace, 0.1, 86400),
        heartbeat_seconds=_float_setting(
            env, "NOTIFY_HEARTBEAT_SECONDS", d.heartbeat_seconds, 0.1, 60
        ),
        batch_size=_int_setting(env, "NOTIFY_BATCH_SIZE", d.batch_size, 1, 10000),
        job_batch=_int_setting(env, "NOTIFY_JOB_BATCH", d.job_batch, 1, 500),
        send_concurrency=_int_setting(env, "NOTIFY_SEND_CONCURRENCY", d.send_concurrency, 1, 64),
        # Twilio accepts a ValidityPeriod of 1 to 36000 seconds.
        sms_validity_seconds=_int_setting(
            env, "NOTIFY_SMS_VALIDITY", d.sms_validity_seconds, 1, 36000
        ),
        http_timeout=_float_setting(env, "NOTIFY_HTTP_TIMEOUT", d.http_timeout, 0.1, 300),
        sms_backend=SmsBackend(backend),
        email_from=env.get("NOTIFY_EMAIL_FROM", "").strip(),
    )


def _float_setting(
    env: Mapping[str, str], name: str, default: float, low: float, high: float
) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    problem = f"{name} must be a number from {low:g} to {high:g}, got {raw!r}"
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(problem) from None
    if not low <= value <= high:  # also refuses nan
        raise ConfigError(problem)
    return value


# --- end of the notification settings ---------------------------------------------------------


@dataclass(frozen=True)
class AttachmentSettings:
    """Ticket attachments (the customer portal, and any channel after it): limits and store."""

    max_mb: int = 10
    max_files: int = 5
    # Empty: the built-in list of log, document, image and archive types (tickets.attachments).
    types: tuple[str, ...] = ()
    # "local" (under HOTLINE_DATA_DIR/attachments) or "s3" (ATTACHMENT_S3_BUCKET, needs boto3).
    store: str = "local"
    s3_bucket: str = ""
    s3_endpoint: str = ""


@dataclass(frozen=True)
class MailSettings:
    """Email intake (MAIL_*, SMTP_INTAKE_*, MAILGUN_*): where mail is taken and its limits."""

    # The support address(es) customers write to; the SMTP intake refuses mail for any other.
    addresses: tuple[str, ...] = ()
    intake_host: str = "127.0.0.1"
    intake_port: int = 2525
    # A message (with its attachments, as sent) larger than this is refused.
    max_mb: int = 15
    # Messages a sender may send per hour; more are kept but neither processed nor answered.
    sender_hourly: int = 20
    # Mailgun's HTTP webhook signing key; empty: POST /mail/inbound answers 503.
    mailgun_signing_key: str = field(default="", repr=False)
    # A signed webhook older (or newer) than this is refused as a replay.
    webhook_max_age_seconds: int = 300

    @property
    def max_bytes(self) -> int:
        """The largest message taken, in bytes."""
        return self.max_mb * 1024 * 1024

    @property
    def reply_address(self) -> str:
        """The address customers answer to (the first support address)."""
        return self.addresses[0]


def _mail_settings(env: Mapping[str, str], public_base_url: str) -> MailSettings:
    """The email intake settings; ConfigError naming a bad one."""
    host = public_base_url.split("//", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "localhost"
    addresses = tuple(a.lower() for a in _list_setting(env, "MAIL_SUPPORT_ADDRESSES"))
    if not all(
        (a.count("@") == 1 and "." in a.rsplit("@", 1)[1]) or a.endswith("@localhost")
        for a in addresses
    ):
        raise ConfigError(
            "MAIL_SUPPORT_ADDRESSES must be email addresses separated by commas, "
            f"e.g. support@example.com; got {env.get('MAIL_SUPPORT_ADDRESSES')!r}"
        )
    return MailSettings(
        addresses=addresses or (f"support@{host}",),
        intake_host=env.get("SMTP_INTAKE_HOST", "").strip() or "127.0.0.1",
        intake_port=_int_setting(env, "SMTP_INTAKE_PORT", 2525, 1, 65535),
        max_mb=_int_setting(env, "MAIL_MAX_MB", 15, 1, 100),
        sender_hourly=_int_setting(env, "MAIL_SENDER_HOURLY", 20, 1, 100000),
        mailgun_signing_key=env.get("MAILGUN_WEBHOOK_SIGNING_KEY", "").strip(),
        webhook_max_age_seconds=_int_setting(env, "MAIL_WEBHOOK_MAX_AGE", 300, 10, 86400),
    )


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from its environment."""

    env: str
    data_dir: Path
    database_url: str
    redis_url: str | None
    secret_key: str
    pin_pepper: str
    twilio_account_sid: str
    twilio_auth_token: str
    twilio_api_base_url: str
    public_base_url: str
    port: int
    hotline_number: str
    oncall_number: str | None
    emergency_number: str | None
    account_management_number: str | None
    customer_portal_url: str
    pin_length: int
    support_licence_days: int
    pin_lockout_failures: int
    pin_burst_threshold: int
    pin_burst_window_minutes: int
    smtp_url: str | None
    # True when TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN came from the environment, not made up.
    twilio_configured: bool
    simulator_port: int
    max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH
    manager_phones: tuple[str, ...] = field(default_factory=tuple)
    manager_emails: tuple[str, ...] = field(default_factory=tuple)
    # Failed PINs from callers registered on one account, per hour, before the account's
    # registered numbers are slowed down.
    pin_account_failures: int = 10
    # Every caller who hides their number shares this budget of failures per window.
    pin_withheld_failures: int = 15
    pin_withheld_window_minutes: int = 5
    # The waits after the 1st, 2nd, 3rd... lockout of a number or account (the last repeats).
    pin_lockout_minutes: tuple[int, ...] = (1, 5, 15, 60)
    # ISO regions a caller's SMS may go to (default: the hotline number's own country).
    sms_countries: tuple[str, ...] = ("US",)
    sms_per_number_hourly: int = 5
    sms_global_hourly: int = 300
    # A dashboard session ends after this long without a request, and this long after sign-in.
    dashboard_idle_minutes: int = 60
    dashboard_session_hours: int = 12
    # No webhook waits longer than this on PostgreSQL (connect, statement, pool checkout).
    db_timeout_seconds: float = 2.0
    # After a database connection failure, requests skip the database for this long.
    db_breaker_seconds: float = 5.0
    # A call still open this long after it started is checked against Twilio's REST API.
    reconcile_after_seconds: float = 600.0
    reconcile_interval_seconds: float = 60.0
    # Response target per severity (minutes): a message's task is due this long after it was left.
    # (severity, minutes) pairs, severities 1-4: a tuple keeps Settings hashable.
    severity_target_minutes: tuple[tuple[int, int], ...] = tuple(DEFAULT_SEVERITY_TARGETS.items())
    # The promise made to a caller nobody took: "an engineer will call you back within 30 minutes".
    callback_due_minutes: int = 30
    # An open task not acknowledged by then escalates to the policy's next level.
    task_reminder_minutes: int = 10
    # Dates in customers' messages are in their account's time zone, else this one.
    hotline_timezone: str = "UTC"

    # Staff and portal password hashes (kernel.passwords): cheaper only when HOTLINE_ENV=test.
    password_hash_method: str = passwords.STRONG
    notify: NotifySettings = field(default_factory=NotifySettings)  # the NOTIFY_* block above
    attachments: AttachmentSettings = field(default_factory=lambda: AttachmentSettings())
    mail: MailSettings = field(
        default_factory=lambda: MailSettings(addresses=("support@localhost",))
    )

    def target_minutes(self, severity: int | None) -> int:
        """The response target for `severity`; an unknown severity gets the lowest's (4)."""
        targets = dict(self.severity_target_minutes)
        return targets.get(severity or 0, targets[max(targets)])

    @property
    def home_region(self) -> str:
        """The ISO region of the hotline's own number; caller IDs without '+' are read in it."""
        return _home_region(self.hotline_number)

    @property
    def is_production(self) -> bool:
        """True when started with HOTLINE_ENV=production."""
        return self.env == "production"


def _int_setting(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(
            f"{name} must be a whole number from {low} to {high}, got {raw!r}"
        ) from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be a whole number from {low} to {high}, got {value}")
    return value


def _list_setting(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in env.get(name, "").split(",") if part.strip())


def _minutes_setting(
    env: Mapping[str, str], name: str, default: tuple[int, ...]
) -> tuple[int, ...]:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    parts = [part.strip() for part in raw.split(",")]
    if not all(part.isascii() and part.isdigit() and 0 < int(part) <= 10080 for part in parts):
        raise ConfigError(
            f"{name} must be minutes from 1 to 10080 separated by commas, "
            f"e.g. 1,5,15,60; got {raw!r}"
        )
    return tuple(int(part) for part in parts)


def _severity_targets_setting(env: Mapping[str, str], name: str) -> tuple[tuple[int, int], ...]:
    """SEVERITY_TARGET_MINUTES: "1=30,2=240,3=1440,4=4320"; unnamed severities keep defaults."""
    raw = env.get(name, "").strip()
    targets = dict(DEFAULT_SEVERITY_TARGETS)
    if not raw:
        return tuple(targets.items())
    problem = (
        f"{name} must be severity=minutes pairs for severities 1-4 with minutes from 1 to "
        f"525600, e.g. 1=30,2=240,3=1440,4=4320; got {raw!r}"
    )
    for part in raw.split(","):
        severity, _, minutes = part.strip().partition("=")
        severity, minutes = severity.strip(), minutes.strip()
        if not (severity.isascii() and severity.isdigit() and minutes.isascii()):
            raise ConfigError(problem)
        if not minutes.isdigit() or int(severity) not in targets:
            raise ConfigError(problem)
        if not 0 < int(minutes) <= 525600:
            raise ConfigError(problem)
        targets[int(severity)] = int(minutes)
    return tuple(targets.items())


def _timezone_setting(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(name, "").strip() or default
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{name} must be an IANA time zone such as Europe/Paris; got {raw!r}"
        ) from None
    return raw


def _regions_setting(
    env: Mapping[str, str], name: str, default: tuple[str, ...]
) -> tuple[str, ...]:
    regions = tuple(code.upper() for code in _list_setting(env, name))
    if not regions:
        return default
    unknown = [code for code in regions if code not in phonenumbers.SUPPORTED_REGIONS]
    if unknown:
        raise ConfigError(
            f"{name} must be ISO country codes separated by commas, e.g. US,CA; "
            f"unknown: {', '.join(unknown)}"
        )
    return regions


def _home_region(hotline_number: str) -> str:
    """The country of the hotline's own number; US when it cannot be told."""
    e164 = caller_e164(hotline_number)
    return (region_of(e164) if e164 else None) or "US"


def _local_secrets(data_dir: Path) -> dict[str, str]:
    """Secrets made once for the embedded default and kept in the data directory."""
    path = data_dir / "secrets.json"
    if path.exists():
        tighten(path)
        stored: dict[str, str] = json.loads(path.read_text())
        return stored
    made = {
        "SECRET_KEY": secrets.token_urlsafe(32),
        "PIN_PEPPER": secrets.token_urlsafe(32),
        "TWILIO_ACCOUNT_SID": "AC" + secrets.token_hex(16),
        "TWILIO_AUTH_TOKEN": secrets.token_hex(16),
    }
    private_dir(data_dir)
    # Written with 0600 from the start so no other user can read the pepper.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(made, handle, indent=2)
    return made


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from `env` (default os.environ); raise ConfigError naming a bad one."""
    env = dict(os.environ if env is None else env)
    mode = env.get("HOTLINE_ENV", "development").strip() or "development"
    if mode not in ("development", "production", "test"):
        raise ConfigError(f"HOTLINE_ENV must be development, production or test, got {mode!r}")
    data_dir = Path(env.get("HOTLINE_DATA_DIR", "var")).resolve()

    if mode == "production":
        for name in PRODUCTION_SECRETS:
            if not env.get(name, "").strip():
                raise ConfigError(f"{name} is not set; production needs it (see README).")
        if not env.get("REDIS_URL", "").strip():
            raise ConfigError("REDIS_URL is not set; production needs a Redis server.")
        for name in KEYS_NEEDING_LENGTH:
            if len(env[name].strip()) < MIN_KEY_LENGTH:
                raise ConfigError(
                    f"{name} is shorter than {MIN_KEY_LENGTH} characters; production needs a "
                    "long random value (see README)."
                )
        secret_source: Mapping[str, str] = env
    else:
        secret_source = {**_local_secrets(data_dir), **{k: v for k, v in env.items() if v}}

    port = _int_setting(env, "PORT", 8000, 1, 65535)
    simulator_port = _int_setting(env, "SIMULATOR_PORT", DEFAULT_SIMULATOR_PORT, 1, 65535)
    twilio_configured = bool(env.get("TWILIO_ACCOUNT_SID") and env.get("TWILIO_AUTH_TOKEN"))
    if env.get("TWILIO_API_BASE_URL"):
        twilio_api_base_url = env["TWILIO_API_BASE_URL"]
    elif twilio_configured or mode == "production":
        twilio_api_base_url = DEFAULT_TWILIO_API_BASE_URL
    else:
        twilio_api_base_url = f"http://127.0.0.1:{simulator_port}"
    public_base_url = (env.get("PUBLIC_BASE_URL") or f"http://localhost:{port}").rstrip("/")
    if not public_base_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"PUBLIC_BASE_URL must start with http:// or https://, got {public_base_url!r}"
        )

    hotline_number = env.get("HOTLINE_NUMBER", "+15005550006")
    return Settings(
        env=mode,
        password_hash_method=passwords.FAST_FOR_TESTS if mode == "test" else passwords.STRONG,
        data_dir=data_dir,
        database_url=env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'kernel.db'}",
        redis_url=env.get("REDIS_URL") or None,
        secret_key=secret_source["SECRET_KEY"],
        pin_pepper=secret_source["PIN_PEPPER"],
        twilio_account_sid=secret_source.get("TWILIO_ACCOUNT_SID", ""),
        twilio_auth_token=secret_source["TWILIO_AUTH_TOKEN"],
        twilio_api_base_url=twilio_api_base_url.rstrip("/"),
        public_base_url=public_base_url,
        port=port,
        hotline_number=hotline_number,
        oncall_number=env.get("ONCALL_NUMBER") or None,
        emergency_number=env.get("EMERGENCY_NUMBER") or None,
        account_management_number=env.get("ACCOUNT_MANAGEMENT_NUMBER") or None,
        # The customer portal (served under /portal/ by default): read out to callers and
        # named in texts as where a PIN is found.
        customer_portal_url=(
            env.get("PORTAL_URL") or env.get("CUSTOMER_PORTAL_URL") or f"{public_base_url}/portal/"
        ),
        pin_length=_int_setting(env, "PIN_LENGTH", 8, 6, 10),
        support_licence_days=_int_setting(env, "SUPPORT_LICENCE_DAYS", 365, 1, 3650),
        pin_lockout_failures=_int_setting(env, "PIN_LOCKOUT_FAILURES", 5, 1, 100),
        pin_burst_threshold=_int_setting(env, "PIN_BURST_THRESHOLD", 30, 1, 100000),
        pin_burst_window_minutes=_int_setting(env, "PIN_BURST_WINDOW_MINUTES", 10, 1, 1440),
        smtp_url=env.get("SMTP_URL") or None,
        twilio_configured=twilio_configured,
        simulator_port=simulator_port,
        max_content_length=_int_setting(
            env, "MAX_CONTENT_LENGTH", DEFAULT_MAX_CONTENT_LENGTH, 1024, 1024**3
        ),
        manager_phones=_list_setting(env, "MANAGER_PHONES"),
        manager_emails=_list_setting(env, "MANAGER_EMAILS"),
        pin_account_failures=_int_setting(env, "PIN_ACCOUNT_FAILURES", 10, 1, 1000),
        pin_withheld_failures=_int_setting(env, "PIN_WITHHELD_FAILURES", 15, 1, 100000),
        pin_withheld_window_minutes=_int_setting(env, "PIN_WITHHELD_WINDOW_MINUTES", 5, 1, 1440),
        pin_lockout_minutes=_minutes_setting(env, "PIN_LOCKOUT_MINUTES", (1, 5, 15, 60)),
        sms_countries=_regions_setting(env, "SMS_COUNTRIES", (_home_region(hotline_number),)),
        sms_per_number_hourly=_int_setting(env, "SMS_PER_NUMBER_HOURLY", 5, 0, 1000),
        sms_global_hourly=_int_setting(env, "SMS_GLOBAL_HOURLY", 300, 0, 1000000),
        dashboard_idle_minutes=_int_setting(env, "DASHBOARD_IDLE_MINUTES", 60, 1, 24 * 60),
        dashboard_session_hours=_int_setting(env, "DASHBOARD_SESSION_HOURS", 12, 1, 24 * 30),
        db_timeout_seconds=_float_setting(env, "DB_TIMEOUT_SECONDS", 2.0, 0.1, 60),
        db_breaker_seconds=_float_setting(env, "DB_BREAKER_SECONDS", 5.0, 0.1, 600),
        reconcile_after_seconds=_float_setting(env, "RECONCILE_AFTER_SECONDS", 600.0, 1, 7 * 86400),
        reconcile_interval_seconds=_float_setting(
            env, "RECONCILE_INTERVAL_SECONDS", 60.0, 0.5, 86400
        ),
        notify=load_notify_settings(env),
        severity_target_minutes=_severity_targets_setting(env, "SEVERITY_TARGET_MINUTES"),
        callback_due_minutes=_int_setting(env, "CALLBACK_DUE_MINUTES", 30, 1, 1440),
        task_reminder_minutes=_int_setting(env, "TASK_REMINDER_MINUTES", 10, 1, 1440),
        hotline_timezone=_timezone_setting(env, "HOTLINE_TIMEZONE", "UTC"),
        attachments=_attachment_settings(env),
        mail=_mail_settings(env, public_base_url),
    )


def _attachment_settings(env: Mapping[str, str]) -> AttachmentSettings:
    """The ATTACHMENT_* settings; ConfigError naming a bad one."""
    store = env.get("ATTACHMENT_STORE", "").strip().lower() or "local"
    if store not in ("local", "s3"):
        raise ConfigError(f"ATTACHMENT_STORE must be local or s3, got {store!r}")
    bucket = env.get("ATTACHMENT_S3_BUCKET", "").strip()
    if store == "s3" and not bucket:
        raise ConfigError("ATTACHMENT_S3_BUCKET is not set; ATTACHMENT_STORE=s3 needs it")
    types = tuple(t.lower().lstrip(".") for t in _list_setting(env, "ATTACHMENT_TYPES"))
    if not all(t.isascii() and t.isalnum() and len(t) <= 10 for t in types):
        raise ConfigError(
            f"ATTACHMENT_TYPES must be file extensions separated by commas, e.g. pdf,png,log; "
            f"got {env.get('ATTACHMENT_TYPES')!r}"
        )
    return AttachmentSettings(
        max_mb=_int_setting(env, "ATTACHMENT_MAX_MB", 10, 1, 1024),
        max_files=_int_setting(env, "ATTACHMENT_MAX_FILES", 5, 1, 50),
        types=types,
        store=store,
        s3_bucket=bucket,
        s3_endpoint=env.get("ATTACHMENT_S3_ENDPOINT", "").strip(),
    )


def settings_of(app: Flask) -> Settings:
    """The Settings an app was built with."""
    settings: Settings = app.config["HOTLINE"]
    return settings
