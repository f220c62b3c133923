"""Settings from the environment, validated at start-up (fail loudly, no insecure defaults)."""

from __future__ import annotations

import base64
import contextlib
import os
import re
import secrets
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ledger.supervision.settings import SupervisionSettings

#: Where development and test documents point when VBP_PUBLIC_URL is unset (`flask run`'s address).
DEVELOPMENT_PUBLIC_URL = "http://127.0.0.1:5000"
WEAK_SECRETS = frozenset({"", "dev", "secret", "changeme", "change-me", "you-will-never-guess", "test"})


class ConfigError(RuntimeError):
    """The configuration is unusable; the message says which setting and why."""


def normalize_database_url(url: str) -> str:
    """Accept plain PostgreSQL URLs and use psycopg 3 for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@dataclass
class Config:
    """Platform settings. `from_env` reads VBP_* / DATABASE_URL / SECRET_KEY variables."""

    #: "development" | "production" | "testing"
    env: str = "development"
    #: SQLAlchemy URL; default: SQLite file in the instance folder.
    database_url: str | None = None
    secret_key: str | None = None
    #: Instance folder: SQLite file, generated development keys, demo output.
    instance_path: str | None = None
    #: Bearer token lifetime (days) when the client does not ask for less.
    token_ttl_days: int = 90
    #: Largest accepted request body (uploads included).
    max_content_length: int = 16 * 1024 * 1024
    #: Browser sessions: absolute lifetime (hours) and idle timeout (minutes), enforced on the
    #: server's session records whatever the cookie says.
    session_hours: int = 8
    session_idle_minutes: int = 30
    #: Login throttle (per client address, never per account): failures from one address for one
    #: username, and from one address for any usernames, before that client waits; the first wait
    #: (seconds), doubling with each further failure up to the cap (minutes); failures are
    #: forgotten after this many quiet minutes.
    login_max_failures: int = 5
    login_max_failures_per_client: int = 50
    login_delay_seconds: int = 60
    login_max_delay_minutes: int = 60
    login_forget_minutes: int = 15
    #: Reverse proxies in front of the app whose X-Forwarded-For/-Proto are trusted (0: none; the
    #: client address is then the TCP peer). Set it to the real count behind a proxy, or every
    #: client shares the proxy's address in the login throttle.
    proxy_count: int = 0
    #: AES-256 key (urlsafe base64) that seals bid prices until the opening. Keep it apart from the
    #: database and its backups; development generates one into the instance folder.
    bid_sealing_key: str | None = None
    #: Province this platform serves (6-digit code); credit ratings and bids are checked against it.
    province_code: str = "510000"
    #: Delivery time limits in hours by urgency (vbp-rules.md §5: 24 / 4 / 72, provincial terms).
    delivery_hours: dict[str, int] = field(
        default_factory=lambda: {"normal": 24, "emergency": 4, "remote": 72}
    )
    #: Payment terms (vbp-rules.md §4.1): days from acceptance, calendar or working days, and a
    #: holiday file (one ISO date a line; "+2025-09-28" marks a 调休 working weekend day).
    payment_days: int = 30
    payment_day_kind: str = "calendar"
    holidays_file: str | None = None
    #: Public address of the platform, printed in statement QR codes (…/api/v1/statements/verify/<code>).
    #: Required in production; never taken from a request (a Host header is the caller's to choose).
    public_url: str | None = None
    #: Receipt without invoice after this many days is an exception (vbp-rules.md §5; provincial N).
    invoice_grace_days: int = 30
    #: 两票制: a delivered batch with no first invoice after this many days is a finding (0: off).
    first_invoice_grace_days: int = 30
    #: Largest invoice image (发票影像) accepted, in bytes.
    invoice_image_max_bytes: int = 10 * 1024 * 1024
    #: A hospital silent past its 5-working-day confirmation window is deemed to have confirmed
    #: (视同确认). Off by default: the national text (vbp-rules.md §4.3) only sets the window;
    #: provinces that deem silence consent turn it on.
    deem_confirmed: bool = False
    #: The province's time zone (IANA name): business dates (due dates, months, deadlines, today)
    #: are dates there, not in UTC (core/clock.py).
    timezone: str = "Asia/Shanghai"
    #: Spreadsheet uploads (core/spreadsheets.py SpreadsheetLimits): largest file, largest unpacked
    #: workbook, largest compression ratio of a part, longest cell (Excel's own limit).
    upload_max_bytes: int = 10 * 1024 * 1024
    upload_max_unpacked_bytes: int = 256 * 1024 * 1024
    upload_max_compression_ratio: int = 100
    upload_max_cell_chars: int = 32_767
    #: Agreements are flagged on the to-do lists this many days before their cycle year ends, and
    #: the bureau's batches without a renewal this many days before their cycle ends (provincial).
    agreement_notice_days: int = 90
    #: 公示期: days proposed results are shown for objections before they become final, unless a
    #: batch's rule set says otherwise; Yunnan used 7 (supervision-and-interop.md §8). 0: final at once.
    publicity_days: int = 7
    #: Largest objection attachment (PDF, OFD, JPEG, PNG).
    objection_attachment_max_bytes: int = 10 * 1024 * 1024
    #: Supervision thresholds (VBP_SUP_*; ledger/supervision/settings.py).
    supervision: SupervisionSettings = field(default_factory=SupervisionSettings)
    #: Public disclosure (信息公开, app/public): requests per client address (Flask-Limiter's
    #: notation, shared by every public page and API route), where the counters live ("memory://"
    #: per process; e.g. "redis://host:6379" so several workers share them), how long a rendered
    #: public answer is reused (seconds, 0: never) and the largest page size a visitor may ask for.
    public_rate_limit: str = "120 per minute"
    public_rate_limit_storage_uri: str = "memory://"
    public_cache_seconds: int = 60
    public_max_page_size: int = 100
    #: Open data (OCDS 1.1, reports/ocds): the ocid prefix. "ocds-xxxxxx-" is a placeholder: the
    #: province registers its own prefix with the Open Contracting Partnership.
    ocds_prefix: str = "ocds-xxxxxx-"
    #: OCDS stages anyone may download without login. Contract and implementation carry each
    #: hospital's agreed volumes and payments: published only where provincial policy says so.
    ocds_public_stages: tuple[str, ...] = ("planning", "tender", "award")
    #: Agreements signed online: folder of the platform CA (default: instance/pki), password of
    #: the CA key and of stored signing keys (development: generated into the instance folder),
    #: and a PEM file of further trust roots for imported certificates (production CAs).
    pki_path: str | None = None
    pki_key_password: str | None = None
    pki_trust_roots: str | None = None
    extra: dict[str, object] = field(default_factory=dict)
    #: Cryptographic suite new records are made with (core/crypto_suites.py): "standard"
    #: (AES-256-GCM, SHA-256, ECDSA P-256) or "sm" (国密: SM4-GCM, SM3, SM2). Records keep theirs.
    crypto_suite: str = "standard"
    #: SM4 key (urlsafe base64 of 16 bytes) that seals bid prices under the sm suite; required in
    #: production when that suite is selected. Development generates one into the instance folder.
    bid_sealing_key_sm4: str | None = None
    #: Audit lanes (core/audit.py) a new database starts with and `flask audit lanes` sets by
    #: default. The lanes in use live in the database: changing this alone changes nothing.
    audit_lanes: int = 16
    #: Streaming replica (PostgreSQL hot standby) that reports, the reconciliation explorer,
    #: exports and the sync feed read from (app/replica.py); unset: every read on the primary.
    database_replica_url: str | None = None
    #: Connections go through PgBouncer in transaction mode (DEPLOYMENT.md): psycopg must not
    #: prepare statements on the server, since the next transaction may run on another backend.
    database_pgbouncer: bool = False
    #: Background jobs (app/background.py): the task queue's broker, e.g. amqp://guest:guest@host//
    #: (unset: no broker, jobs run in the requesting process) and the queue workers listen on.
    broker_url: str | None = None
    task_queue: str = "vbp"
    #: Uploads with more data rows than this run on the background workers (202 with the job).
    upload_job_rows: int = 2_000

    @property
    def testing(self) -> bool:
        return self.env == "testing"

    @property
    def production(self) -> bool:
        return self.env == "production"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        env = os.environ if environ is None else environ
        return cls(
            env=env.get("VBP_ENV", "development"),
            database_url=env.get("DATABASE_URL") or None,
            secret_key=env.get("SECRET_KEY") or None,
            instance_path=env.get("VBP_INSTANCE_PATH") or None,
            token_ttl_days=int(env.get("VBP_TOKEN_TTL_DAYS", "90")),
            max_content_length=int(env.get("VBP_MAX_CONTENT_LENGTH", str(16 * 1024 * 1024))),
            session_hours=int(env.get("VBP_SESSION_HOURS", "8")),
            session_idle_minutes=int(env.get("VBP_SESSION_IDLE_MINUTES", "30")),
            login_max_failures=int(env.get("VBP_LOGIN_MAX_FAILURES", "5")),
            login_max_failures_per_client=int(env.get("VBP_LOGIN_MAX_FAILURES_PER_CLIENT", "50")),
            login_delay_seconds=int(env.get("VBP_LOGIN_DELAY_SECONDS", "60")),
            login_max_delay_minutes=int(env.get("VBP_LOGIN_MAX_DELAY_MINUTES", "60")),
            login_forget_minutes=int(env.get("VBP_LOGIN_FORGET_MINUTES", "15")),
            proxy_count=int(env.get("VBP_PROXY_COUNT", "0")),
            bid_sealing_key=_key_from_env(env),
            province_code=env.get("VBP_PROVINCE_CODE", "510000"),
            delivery_hours=_hours(env.get("VBP_DELIVERY_HOURS", "normal=24,emergency=4,remote=72")),
            payment_days=int(env.get("VBP_PAYMENT_DAYS", "30")),
            payment_day_kind=env.get("VBP_PAYMENT_DAY_KIND", "calendar"),
            holidays_file=env.get("VBP_HOLIDAYS_FILE") or None,
            public_url=env.get("VBP_PUBLIC_URL") or None,
            invoice_grace_days=int(env.get("VBP_INVOICE_GRACE_DAYS", "30")),
            first_invoice_grace_days=int(env.get("VBP_FIRST_INVOICE_GRACE_DAYS", "30")),
            invoice_image_max_bytes=int(
                env.get("VBP_INVOICE_IMAGE_MAX_BYTES", str(cls.invoice_image_max_bytes))
            ),
            deem_confirmed=env.get("VBP_DEEM_CONFIRMED", "false").strip().lower()
            in ("1", "true", "yes", "on"),
            timezone=env.get("VBP_TIMEZONE") or "Asia/Shanghai",
            upload_max_bytes=int(env.get("VBP_UPLOAD_MAX_BYTES", str(cls.upload_max_bytes))),
            upload_max_unpacked_bytes=int(
                env.get("VBP_UPLOAD_MAX_UNPACKED_BYTES", str(cls.upload_max_unpacked_bytes))
            ),
            upload_max_compression_ratio=int(
                env.get("VBP_UPLOAD_MAX_COMPRESSION_RATIO", str(cls.upload_max_compression_ratio))
            ),
            upload_max_cell_chars=int(env.get("VBP_UPLOAD_MAX_CELL_CHARS", str(cls.upload_max_cell_chars))),
            agreement_notice_days=int(env.get("VBP_AGREEMENT_NOTICE_DAYS", str(cls.agreement_notice_days))),
            publicity_days=int(env.get("VBP_PUBLICITY_DAYS", str(cls.publicity_days))),
            objection_attachment_max_bytes=int(
                env.get("VBP_OBJECTION_ATTACHMENT_MAX_BYTES", str(cls.objection_attachment_max_bytes))
            ),
            supervision=_supervision(env),
            public_rate_limit=env.get("VBP_PUBLIC_RATE_LIMIT") or cls.public_rate_limit,
            public_rate_limit_storage_uri=env.get("VBP_PUBLIC_RATE_LIMIT_STORAGE_URI")
            or cls.public_rate_limit_storage_uri,
            public_cache_seconds=int(env.get("VBP_PUBLIC_CACHE_SECONDS", str(cls.public_cache_seconds))),
            public_max_page_size=int(env.get("VBP_PUBLIC_MAX_PAGE_SIZE", str(cls.public_max_page_size))),
            ocds_prefix=env.get("VBP_OCDS_PREFIX") or cls.ocds_prefix,
            ocds_public_stages=tuple(
                s.strip()
                for s in env.get("VBP_OCDS_PUBLIC_STAGES", ",".join(cls.ocds_public_stages)).split(",")
                if s.strip()
            ),
            pki_path=env.get("VBP_PKI_PATH") or None,
            pki_key_password=env.get("VBP_PKI_KEY_PASSWORD") or None,
            pki_trust_roots=env.get("VBP_PKI_TRUST_ROOTS") or None,
            crypto_suite=(env.get("VBP_CRYPTO_SUITE") or "standard").strip(),
            bid_sealing_key_sm4=_key_from_env(env, "VBP_BID_SEALING_KEY_SM4"),
            audit_lanes=int(env.get("VBP_AUDIT_LANES", str(cls.audit_lanes))),
            database_replica_url=env.get("VBP_DATABASE_REPLICA_URL") or None,
            database_pgbouncer=env.get("VBP_DATABASE_PGBOUNCER", "").strip().lower() in ("1", "true", "yes"),
            broker_url=env.get("VBP_BROKER_URL") or None,
            task_queue=env.get("VBP_TASK_QUEUE") or "vbp",
            upload_job_rows=int(env.get("VBP_UPLOAD_JOB_ROWS", str(cls.upload_job_rows))),
        )

    def payment_terms(self) -> Any:
        """The province's payment terms, holidays read from the holiday file."""
        from datetime import date

        from ledger.money_rules import DayKind, PaymentTerms

        holidays, working = set(), set()
        if self.holidays_file:
            for raw in Path(self.holidays_file).read_text().split():
                (working if raw.startswith("+") else holidays).add(date.fromisoformat(raw.lstrip("+")))
        return PaymentTerms(
            days=self.payment_days,
            day_kind=DayKind(self.payment_day_kind),
            holidays=frozenset(holidays),
            extra_working_days=frozenset(working),
        )

    def spreadsheet_limits(self) -> Any:
        """The bounds uploads are read within (VBP_UPLOAD_*)."""
        from core.upload_limits import SpreadsheetLimits

        return SpreadsheetLimits(
            max_bytes=self.upload_max_bytes,
            max_unpacked_bytes=self.upload_max_unpacked_bytes,
            max_compression_ratio=self.upload_max_compression_ratio,
            max_cell_chars=self.upload_max_cell_chars,
        )

    def reconcile_options(self) -> Any:
        """Reconciliation settings of this province (invoice grace days, vbp-rules.md §5)."""
        from ledger.reconcile import Options

        return Options(invoice_grace_days=self.invoice_grace_days)

    def statement_verify_url_base(self) -> str:
        """Where printed statements send their readers to check a code (the QR code's target): the
        public verification page (app/web/public.py); machines use /api/v1/statements/verify."""
        return f"{self.public_url or DEVELOPMENT_PUBLIC_URL}/verify"

    def login_policy(self) -> Any:
        """The login throttle's settings."""
        from core.login_throttle import ThrottlePolicy

        return ThrottlePolicy(
            max_failures=self.login_max_failures,
            max_failures_per_client=self.login_max_failures_per_client,
            first_delay=timedelta(seconds=self.login_delay_seconds),
            max_delay=timedelta(minutes=self.login_max_delay_minutes),
            forget_after=timedelta(minutes=self.login_forget_minutes),
        )

    def delivery_deadlines(self) -> dict[Any, timedelta]:
        from ledger.models import Urgency

        return {Urgency(k): timedelta(hours=v) for k, v in self.delivery_hours.items()}

    def resolve(self, default_instance_path: str) -> Config:
        """Fill derived defaults and validate; raises ConfigError naming the bad setting."""
        if self.env not in ("development", "production", "testing"):
            raise ConfigError(f"VBP_ENV must be development, production or testing, not {self.env!r}")
        instance = Path(self.instance_path or default_instance_path)
        instance.mkdir(parents=True, exist_ok=True)
        self.instance_path = str(instance)
        if self.database_url is None:
            self.database_url = f"sqlite:///{instance / 'vbp.sqlite3'}"
        self.database_url = normalize_database_url(self.database_url)
        if self.database_replica_url:
            self.database_replica_url = normalize_database_url(self.database_replica_url)
            if not (
                self.database_url.startswith("postgresql")
                and self.database_replica_url.startswith("postgresql")
            ):
                raise ConfigError(
                    "VBP_DATABASE_REPLICA_URL needs PostgreSQL for both the primary and the replica"
                )
        if self.secret_key is None and not self.production:
            self.secret_key = _development_secret(instance / "secret_key")
        if self.secret_key is None or self.secret_key.strip().lower() in WEAK_SECRETS:
            raise ConfigError("SECRET_KEY must be set to a random value in production (≥ 32 characters)")
        if self.production and len(self.secret_key) < 32:
            raise ConfigError("SECRET_KEY is too short for production (≥ 32 characters)")
        self._check_crypto(instance)
        self._resolve_pki(instance)
        if not (len(self.province_code) == 6 and self.province_code.isdigit()):
            raise ConfigError("VBP_PROVINCE_CODE must be a 6-digit region code")
        if self.payment_days < 1 or self.payment_day_kind not in ("calendar", "working"):
            raise ConfigError("VBP_PAYMENT_DAYS must be ≥ 1 and VBP_PAYMENT_DAY_KIND calendar or working")
        if self.holidays_file and not Path(self.holidays_file).is_file():
            raise ConfigError(f"VBP_HOLIDAYS_FILE not found: {self.holidays_file}")
        if self.token_ttl_days < 1:
            raise ConfigError("VBP_TOKEN_TTL_DAYS must be ≥ 1")
        if not 1 <= self.audit_lanes <= 1024:
            raise ConfigError("VBP_AUDIT_LANES must be between 1 and 1024")
        if not 1 <= self.agreement_notice_days <= 366:
            raise ConfigError("VBP_AGREEMENT_NOTICE_DAYS must be between 1 and 366")
        if not 0 <= self.publicity_days <= 60 or self.objection_attachment_max_bytes < 1:
            raise ConfigError("VBP_PUBLICITY_DAYS must be 0 to 60, VBP_OBJECTION_ATTACHMENT_MAX_BYTES ≥ 1")
        self._check_public_url()
        self._check_sessions_and_logins()
        self._check_disclosure()
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(
                f"VBP_TIMEZONE must be an IANA time zone such as Asia/Shanghai, not {self.timezone!r}"
            ) from exc
        try:
            self.spreadsheet_limits()
        except ValueError as exc:
            raise ConfigError("VBP_UPLOAD_* limits must be positive numbers") from exc
        return self

    def _resolve_pki(self, instance: Path) -> None:
        self.pki_path = str(Path(self.pki_path or instance / "pki"))
        # Not required to start: a platform that signs nothing needs no signing keys. Outside
        # production it is generated into the instance folder when first needed (app/pki.py);
        # in production signing without it fails with a message naming the setting.
        if self.pki_key_password is not None and len(self.pki_key_password) < 16:
            raise ConfigError("VBP_PKI_KEY_PASSWORD must be at least 16 characters")
        if self.pki_trust_roots and not Path(self.pki_trust_roots).is_file():
            raise ConfigError(f"VBP_PKI_TRUST_ROOTS not found: {self.pki_trust_roots}")

    def _check_crypto(self, instance: Path) -> None:
        """The suite's name, and the sealing keys: the selected suite's is required in production;
        the other suite's is kept while bids sealed under it are still to be opened."""
        from core import crypto_suites

        if self.crypto_suite not in crypto_suites.SUITES:
            known = ", ".join(crypto_suites.SUITES)
            raise ConfigError(
                f"VBP_CRYPTO_SUITE must be one of {known}, not {self.crypto_suite!r} "
                "(密码算法套件: standard 标准算法, sm 国密算法)"
            )
        if not self.production:
            if self.bid_sealing_key is None:
                self.bid_sealing_key = _development_secret(instance / "bid_sealing_key", _aes_key)
            if self.bid_sealing_key_sm4 is None:
                self.bid_sealing_key_sm4 = _development_secret(instance / "bid_sealing_key_sm4", _sm4_key)
        keys = {
            crypto_suites.STANDARD: ("VBP_BID_SEALING_KEY", self.bid_sealing_key),
            crypto_suites.SM: ("VBP_BID_SEALING_KEY_SM4", self.bid_sealing_key_sm4),
        }
        name, key = keys[self.crypto_suite]
        if key is None:
            raise ConfigError(
                f"{name} (or {name}_FILE) must be set in production for the {self.crypto_suite} suite"
            )
        for suite, (name, key) in keys.items():
            size = crypto_suites.get(suite).key_bytes
            try:
                if key is not None and len(base64.urlsafe_b64decode(key)) != size:
                    raise ValueError
            except ValueError as exc:
                raise ConfigError(f"{name} must be {size} bytes, urlsafe-base64 encoded") from exc

    def _check_public_url(self) -> None:
        if self.public_url is None:
            if self.production:
                raise ConfigError(
                    "VBP_PUBLIC_URL must be set in production: the platform's public address, printed "
                    "in statement QR codes (e.g. https://ybj.example.gov.cn)"
                )
            self.public_url = DEVELOPMENT_PUBLIC_URL
        parts = urlsplit(self.public_url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ConfigError(
                f"VBP_PUBLIC_URL must be an http(s) address without query or fragment: {self.public_url!r}"
            )
        self.public_url = self.public_url.rstrip("/")

    def _check_sessions_and_logins(self) -> None:
        if not 1 <= self.session_hours <= 24:
            raise ConfigError("VBP_SESSION_HOURS must be between 1 and 24")
        if not 1 <= self.session_idle_minutes <= self.session_hours * 60:
            raise ConfigError("VBP_SESSION_IDLE_MINUTES must be ≥ 1 and at most the session lifetime")
        positive = {
            "VBP_LOGIN_MAX_FAILURES": self.login_max_failures,
            "VBP_LOGIN_MAX_FAILURES_PER_CLIENT": self.login_max_failures_per_client,
            "VBP_LOGIN_DELAY_SECONDS": self.login_delay_seconds,
            "VBP_LOGIN_MAX_DELAY_MINUTES": self.login_max_delay_minutes,
            "VBP_LOGIN_FORGET_MINUTES": self.login_forget_minutes,
        }
        for name, value in positive.items():
            if value < 1:
                raise ConfigError(f"{name} must be ≥ 1")
        if self.proxy_count < 0:
            raise ConfigError("VBP_PROXY_COUNT must be ≥ 0")

    def _check_disclosure(self) -> None:
        from limits import parse_many

        try:
            if not parse_many(self.public_rate_limit):
                raise ValueError
        except ValueError as exc:
            raise ConfigError(
                f"VBP_PUBLIC_RATE_LIMIT must look like '120 per minute': {self.public_rate_limit!r}"
            ) from exc
        if self.public_cache_seconds < 0:
            raise ConfigError("VBP_PUBLIC_CACHE_SECONDS must be ≥ 0")
        if not 1 <= self.public_max_page_size <= 1000:
            raise ConfigError("VBP_PUBLIC_MAX_PAGE_SIZE must be between 1 and 1000")
        if not re.fullmatch(r"ocds-[a-z0-9]{6}-", self.ocds_prefix):
            raise ConfigError(f"VBP_OCDS_PREFIX must look like 'ocds-abc123-': {self.ocds_prefix!r}")
        stages = {"planning", "tender", "award", "contract", "implementation"}
        if not set(self.ocds_public_stages) <= stages:
            raise ConfigError(f"VBP_OCDS_PUBLIC_STAGES must be among {', '.join(sorted(stages))}")


def _aes_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _sm4_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).decode()


def _development_secret(path: Path, make: Callable[[], str] = lambda: secrets.token_hex(32)) -> str:
    """A per-checkout random key, generated once into the instance folder (never committed).

    Several processes may start at once (web workers, the scheduler, CLI commands), so the key is
    written to a private temporary file and published with os.link, which is atomic and refuses
    to replace an existing file: every process ends up reading the one complete key, never a
    half-written or empty one.
    """
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(make())
            # Another process may have published its key first; then that one is used.
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    return path.read_text().strip()


def _supervision(env: Mapping[str, str]) -> SupervisionSettings:
    try:
        return SupervisionSettings.from_env(env)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc


def _hours(text: str) -> dict[str, int]:
    """ "normal=24,emergency=4,remote=72" → {"normal": 24, ...} (a ConfigError names a bad entry)."""
    try:
        pairs = dict(part.split("=") for part in text.split(",") if part.strip())
        hours = {k.strip(): int(v) for k, v in pairs.items()}
    except ValueError as exc:
        raise ConfigError(
            f"VBP_DELIVERY_HOURS must look like normal=24,emergency=4,remote=72: {text!r}"
        ) from exc
    if set(hours) != {"normal", "emergency", "remote"} or min(hours.values()) < 1:
        raise ConfigError("VBP_DELIVERY_HOURS needs positive hours for normal, emergency and remote")
    return hours


def _key_from_env(env: Mapping[str, str], name: str = "VBP_BID_SEALING_KEY") -> str | None:
    if env.get(name):
        return env[name]
    if env.get(f"{name}_FILE"):
        return Path(env[f"{name}_FILE"]).read_text().strip()
    return None
