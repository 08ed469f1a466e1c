"""All settings in one place, read from the environment (and `.env`).

Names are the environment variables upper-cased with the `BWV_` prefix, except `DATABASE_URL` and
`REDIS_URL`, which follow the usual conventions of hosting platforms. `.env.example` documents each one.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-secret-change-me"  # noqa: S105 - refused outside development
# Published values nobody may run production with: the default above and the placeholder in `.env.example`
# (which a deployment starts from by copying it to `.env`). Anything still saying "change-me" counts too.
PUBLIC_SECRETS = frozenset({DEV_SECRET, "change-me-to-a-long-random-string-of-at-least-32-characters"})


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BWV_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    secret_key: str = DEV_SECRET

    # Where everything lives in the embedded default: SQLite, footage, the file broker.
    data_dir: Path = Path("data")
    database_url: str | None = Field(default=None, validation_alias=AliasChoices("DATABASE_URL", "BWV_DATABASE_URL"))
    redis_url: str | None = Field(default=None, validation_alias=AliasChoices("REDIS_URL", "BWV_REDIS_URL"))

    # Footage storage: "local" (under data_dir/footage) or "s3" (any S3-compatible store).
    storage_backend: Literal["local", "s3"] = "local"
    s3_endpoint_url: str | None = None
    s3_bucket: str = "bwv-footage"
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_region: str = "eu-west-2"
    max_upload_bytes: int = 8 * 1024**3

    # Sessions and sign-in.
    # Floors, so a setting cannot quietly switch a protection off (0 minutes, a weaker hash than OWASP allows).
    session_idle_minutes: int = Field(default=30, ge=1)
    session_absolute_hours: int = Field(default=12, ge=1)
    cookie_secure: bool = True
    sign_in_max_failures: int = Field(default=5, ge=1)
    sign_in_lockout_minutes: int = 15
    sign_in_max_failures_per_address: int = 30
    api_token_hours: int = 12
    password_hash_memory_kib: int = Field(default=19 * 1024, ge=19 * 1024)  # OWASP Argon2id minimum
    password_hash_time_cost: int = Field(default=2, ge=2)

    # Analysis, linking, review, feedback.
    keyframe_interval_s: float = 10.0
    link_margin_minutes: int = 10
    ack_overdue_days: int = 7
    analysis_stuck_minutes: int = 30
    # Test only (ignored in production): pause this long at each progress report, so a test can kill a
    # worker in the middle of an analysis.
    analysis_test_delay_s: float = Field(default=0.0, ge=0, le=10)

    # Retention.
    retention_unlinked_days: int = 31
    retention_linked_years: int = 6
    retention_warning_days: int = 7

    # Celery.
    celery_visibility_timeout_s: int = 4 * 3600
    celery_task_queue: str = "bwv"
    broker_socket_timeout_s: float = 5.0
    # Publish queued jobs from a thread inside the web process (and the worker); off in some tests.
    relay_thread: bool = True

    # Requests doing database work at once, per web process; keep below the connection pool (30).
    max_concurrent_requests: int = Field(default=24, ge=1, le=1000)

    log_level: str = "INFO"
    log_json: bool = False
    timezone: str = "Europe/London"

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.environment == "production" and (
            self.secret_key in PUBLIC_SECRETS or "change-me" in self.secret_key.lower()
        ):
            raise ValueError(
                "BWV_SECRET_KEY must be set to a long random value in production, not the published default or the "
                "placeholder from .env.example (e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if self.environment == "production" and len(self.secret_key) < 32:
            raise ValueError("BWV_SECRET_KEY must be at least 32 characters in production")
        return self

    @property
    def sqlalchemy_url(self) -> str:
        url = self.database_url or f"sqlite:///{(self.data_dir / 'bwv.sqlite3').as_posix()}"
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://") :]
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        return url

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")

    @property
    def footage_dir(self) -> Path:
        return self.data_dir / "footage"

    @property
    def derived_dir(self) -> Path:
        """Thumbnails and filmstrips: derived from footage, deleted with it, never evidence."""
        return self.data_dir / "derived"

    @property
    def broker_dir(self) -> Path:
        return self.data_dir / "broker"

    @property
    def session_cookie_name(self) -> str:
        return "__Host-bwv_session" if self.cookie_secure else "bwv_session"

    @property
    def presession_cookie_name(self) -> str:
        return "__Host-bwv_presession" if self.cookie_secure else "bwv_presession"


@lru_cache
def get_settings() -> Settings:
    return Settings()
