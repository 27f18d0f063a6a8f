"""Settings from the environment. The defaults are the embedded single-machine ones."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw in (None, "") else int(raw)


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path = Path("var")
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    # Failed log-ins allowed per e-mail address inside the window before 429.
    login_max_failures: int = 5
    login_window_seconds: int = 900
    token_ttl_hours: int = 24 * 30
    max_attachment_bytes: int = 10 * 1024 * 1024
    max_page_size: int = 100
    # argon2-cffi profile name; tests use CHEAPEST to keep the suite fast.
    argon2_profile: str = "RFC_9106_LOW_MEMORY"
    # Money and payments.
    platform_fee_bps: int = 500  # 5 % of each release
    review_window_days: int = 14  # silence after a submission releases the milestone
    payments_url: str = ""  # empty: the payment mock mounted in this process
    payments_secret_key: str = "sk_test_mock"  # noqa: S105 - the mock's public test key
    payments_webhook_secret: str = "whsec_mock"  # noqa: S105 - the mock's public test secret
    payments_webhook_tolerance_s: int = 300
    # Prefix of every idempotency key sent to the provider: unique per installation.
    payments_key_namespace: str = "market"
    # Background work: "embedded" (a worker in the server process), "redis" or "rabbitmq".
    broker: str = "embedded"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Prefix of the broker's Redis keys: deployments (or test runs) sharing a server apart.
    redis_namespace: str = "market"
    # A worker silent this long is dead; its unacknowledged messages go back to the queue,
    # checked on a share (per million) of broker commands (Dramatiq's defaults: 60 s, 1000).
    redis_heartbeat_timeout_ms: int = 60_000
    redis_maintenance_chance: int = 1_000
    rabbitmq_url: str = "amqp://guest:guest@127.0.0.1:5672/%2F"
    # Mail: no host means e-mail is not sent (the in-app inbox still is).
    smtp_host: str = ""
    smtp_port: int = 25
    # STARTTLS before anything else (certificate verified); credentials only after it.
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: str = ""
    mail_from: str = "noreply@rd-market.example"
    # Integrators' webhook URLs may name loopback / private / link-local hosts (tests,
    # a single-machine set-up); off, such URLs are refused, at registration and at sending.
    webhook_allow_private: bool = False
    # Where users reach the site: the links in e-mails (default http://host:port).
    public_url: str = ""
    # Search: "embedded" (SQLite FTS5 in $MARKET_DATA_DIR/search.db) or "meilisearch".
    search_backend: str = "embedded"
    meili_url: str = ""
    meili_key: str = ""
    meili_index_prefix: str = "market_"
    # Signs the web pages' CSRF tokens; empty: one kept in $MARKET_DATA_DIR/secret.key.
    secret_key: str = ""
    debug: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'market.db'}"

    @property
    def search_index_file(self) -> Path:
        """The embedded search engine's own SQLite file (derived data, rebuildable)."""
        return self.data_dir / "search.db"

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            data_dir=Path(os.environ.get("MARKET_DATA_DIR", "var")),
            database_url=os.environ.get("MARKET_DATABASE_URL", ""),
            host=os.environ.get("MARKET_HOST", "127.0.0.1"),
            port=_int("MARKET_PORT", 8000),
            login_max_failures=_int("MARKET_LOGIN_MAX_FAILURES", 5),
            login_window_seconds=_int("MARKET_LOGIN_WINDOW_SECONDS", 900),
            token_ttl_hours=_int("MARKET_TOKEN_TTL_HOURS", 24 * 30),
            max_attachment_bytes=_int("MARKET_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024),
            max_page_size=_int("MARKET_MAX_PAGE_SIZE", 100),
            argon2_profile=os.environ.get("MARKET_ARGON2_PROFILE", "RFC_9106_LOW_MEMORY"),
            platform_fee_bps=_int("MARKET_PLATFORM_FEE_BPS", 500),
            review_window_days=_int("MARKET_REVIEW_WINDOW_DAYS", 14),
            payments_url=os.environ.get("MARKET_PAYMENTS_URL", ""),
            payments_secret_key=os.environ.get("MARKET_PAYMENTS_SECRET_KEY", "sk_test_mock"),
            payments_webhook_secret=os.environ.get("MARKET_PAYMENTS_WEBHOOK_SECRET", "whsec_mock"),
            payments_webhook_tolerance_s=_int("MARKET_PAYMENTS_WEBHOOK_TOLERANCE_S", 300),
            payments_key_namespace=os.environ.get("MARKET_PAYMENTS_KEY_NAMESPACE", "market"),
            broker=os.environ.get("MARKET_BROKER", "embedded"),
            redis_url=os.environ.get("MARKET_REDIS_URL", "redis://127.0.0.1:6379/0"),
            redis_namespace=os.environ.get("MARKET_REDIS_NAMESPACE", "market"),
            redis_heartbeat_timeout_ms=_int("MARKET_REDIS_HEARTBEAT_TIMEOUT_MS", 60_000),
            redis_maintenance_chance=_int("MARKET_REDIS_MAINTENANCE_CHANCE", 1_000),
            rabbitmq_url=os.environ.get(
                "MARKET_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F"
            ),
            smtp_host=os.environ.get("MARKET_SMTP_HOST", ""),
            smtp_port=_int("MARKET_SMTP_PORT", 25),
            smtp_starttls=os.environ.get("MARKET_SMTP_STARTTLS", "") in ("1", "true", "yes"),
            smtp_username=os.environ.get("MARKET_SMTP_USERNAME", ""),
            smtp_password=os.environ.get("MARKET_SMTP_PASSWORD", ""),
            mail_from=os.environ.get("MARKET_MAIL_FROM", "noreply@rd-market.example"),
            public_url=os.environ.get("MARKET_PUBLIC_URL", ""),
            search_backend=os.environ.get("MARKET_SEARCH_BACKEND", "embedded"),
            meili_url=os.environ.get("MARKET_MEILI_URL", ""),
            meili_key=os.environ.get("MARKET_MEILI_KEY", ""),
            meili_index_prefix=os.environ.get("MARKET_MEILI_INDEX_PREFIX", "market_"),
            webhook_allow_private=os.environ.get("MARKET_WEBHOOK_ALLOW_PRIVATE", "")
            in ("1", "true", "yes"),
            secret_key=os.environ.get("MARKET_SECRET_KEY", ""),
            debug=os.environ.get("MARKET_DEBUG", "") in ("1", "true", "yes"),
        )
