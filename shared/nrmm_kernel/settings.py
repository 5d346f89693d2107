"""Settings read once from the environment (prefix NRMM_)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class KernelSettings(BaseSettings):
    """What every service needs. Services subclass it to add their own settings."""

    model_config = SettingsConfigDict(env_prefix="NRMM_", extra="ignore")

    service_name: str = "nrmm"
    kafka_bootstrap: str = "127.0.0.1:9092"
    mongodb_url: str = "mongodb://127.0.0.1:27017/"
    # Prefix of every database and topic name: lets several platforms (or test runs) share a broker
    # and a database server without seeing each other.
    namespace: str = Field(default="nrmm", pattern=r"^[a-z][a-z0-9_]{0,30}$")
    topic_partitions: int = Field(default=3, ge=1)
    # replicas of a topic a service creates (a broker cluster: 3, so a write survives the loss of a broker)
    topic_replication_factor: int = Field(default=1, ge=1)
    # No default: a known key would let anyone mint tokens. deploy/run.sh makes one per installation.
    jwt_secret: str | None = Field(default=None, min_length=32)
    jwt_issuer: str = "nrmm-gateway"
    jwt_audience: str = "nrmm"
    log_level: str = "INFO"
    log_json: bool = True
    relay_batch_size: int = Field(default=500, ge=1)
    relay_poll_seconds: float = Field(default=0.2, gt=0)
    # the relay's and the schedulers' leases among a service's instances: a dead holder's job is taken over
    # within this (lease.py)
    lease_seconds: float = Field(default=10.0, ge=1)
    cors_origins: list[str] = []
    # addresses (or networks, e.g. "10.0.0.0/8") of the proxies whose X-Forwarded-For is believed; none by default,
    # so a client's address is the peer's. Services are started with uvicorn's --no-proxy-headers.
    trusted_proxies: list[str] = []
    # every service refuses larger requests (413 request_too_large) before reading them further
    max_request_bytes: int = Field(default=12 * 1024 * 1024, ge=1024)
    # /readyz: a runner (relay, projector, scheduler) without a success for this long is stuck (503)
    runner_stuck_seconds: float = Field(default=60.0, gt=0)
    # the largest commit the event store takes (its events' JSON): well under the broker's max.message.bytes
    max_commit_bytes: int = Field(default=262_144, ge=1024)
    # how long a query sent with X-Min-Position waits for its read models before 503 read_model_behind
    read_wait_seconds: float = Field(default=2.0, gt=0, le=30)
    # how often the store chain's head hash is published to the checkpoint topic and recorded (checkpoints.py)
    checkpoint_seconds: float = Field(default=300.0, gt=0)

    @property
    def database_name(self) -> str:
        return f"{self.namespace}_{self.service_name}"

    @property
    def topic(self) -> str:
        return f"{self.namespace}.{self.service_name}.events"
