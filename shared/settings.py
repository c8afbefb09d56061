"""Service settings.

Every service has one settings class (a subclass of :class:`ServiceSettings`)
with its own environment prefix, e.g. ``QUORUM_INGEST_``. Values common to the
whole deployment (Kafka, MongoDB, JWT keys, environment) may also be given once
with the plain ``QUORUM_`` prefix; a service-specific variable wins over it.

Settings are built once in the entrypoint and passed into ``create_app`` —
there is no module-global settings object.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, Self
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

COMMON_ENV_PREFIX = "QUORUM_"
DEV_JWT_SECRET = "quorum-development-secret-change-me-0123456789"  # noqa: S105  (dev only)


#: Settings that may be given once for the whole deployment with the plain ``QUORUM_`` prefix.
#: Per-service values (port, host, consumer group, database name) need the service prefix.
COMMON_FIELDS = frozenset(
    {
        "environment",
        "log_level",
        "log_json",
        "kafka_bootstrap_servers",
        "kafka_security_protocol",
        "kafka_sasl_mechanism",
        "kafka_ssl_cafile",
        "kafka_metadata_max_age_ms",
        "topic_prefix",
        "topic_partitions",
        "topic_replication_factor",
        "consumer_max_retries",
        "consumer_retry_backoff_ms",
        "consumer_session_timeout_ms",
        "consumer_commit_interval_ms",
        "http_max_body_bytes",
        "cors_origins",
        "outbox_poll_interval_ms",
        "gc_gen0_threshold",
        "mongodb_uri",
        "jwt_algorithm",
        "jwt_secret",
        "jwt_public_key",
        "jwt_jwks_path",
        "jwt_issuer",
        "jwt_audience",
        "jwt_leeway_s",
    }
)


#: How a Kafka client connects: TLS or not, SASL or not.
SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
#: The SASL mechanisms a client may authenticate with (passwords never sent as such).
SaslMechanism = Literal["SCRAM-SHA-256", "SCRAM-SHA-512"]


class _CommonEnvSource(EnvSettingsSource):
    """``QUORUM_*`` variables, limited to :data:`COMMON_FIELDS`."""

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in super().__call__().items() if k in COMMON_FIELDS}


class Environment(StrEnum):
    development = "development"
    test = "test"
    production = "production"


class KafkaClientSettings(BaseSettings):
    """How a Kafka client of Quorum connects: the services, and the tools that manage topics."""

    model_config = SettingsConfigDict(env_prefix=COMMON_ENV_PREFIX, extra="ignore")

    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    kafka_client_id: str | None = None
    kafka_security_protocol: SecurityProtocol = Field(
        "PLAINTEXT",
        description="SASL_SSL in production: TLS, and SCRAM credentials the broker's ACLs "
        "know (docs/operations.md, Security)",
    )
    kafka_sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = Field(
        None, max_length=256, description="this service's Kafka principal (User:<name>)"
    )
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = Field(
        None, description="CA bundle of the brokers' certificates (else the system's)"
    )
    kafka_ssl_certfile: str | None = Field(None, description="client certificate (mutual TLS)")
    kafka_ssl_keyfile: str | None = None
    kafka_ssl_key_password: SecretStr | None = None
    topic_prefix: str = Field(
        "", description="Prefix for every topic name (isolates test runs on a shared broker)"
    )
    topic_partitions: int = Field(6, ge=1, le=1000)
    topic_replication_factor: int = Field(1, ge=1, le=7)
    kafka_metadata_max_age_ms: int = Field(
        30_000,
        ge=1_000,
        le=3_600_000,
        description="how often consumers read the cluster's metadata: a new tenant's request "
        "topic is consumed within it",
    )

    @property
    def credentials_prefix(self) -> str:
        """Where this client's own credentials are set: a service's prefix for a service."""
        return str(self.model_config.get("env_prefix") or COMMON_ENV_PREFIX)

    @model_validator(mode="after")
    def _kafka_credentials_with_sasl(self) -> Self:
        sasl = self.kafka_security_protocol.startswith("SASL_")
        if sasl and not (self.kafka_sasl_username and self.kafka_sasl_password):
            raise ValueError(
                f"{self.kafka_security_protocol} needs this client's credentials: set "
                f"{self.credentials_prefix}KAFKA_SASL_USERNAME and "
                f"{self.credentials_prefix}KAFKA_SASL_PASSWORD"
            )
        if not sasl and (self.kafka_sasl_username or self.kafka_sasl_password):
            raise ValueError(
                "Kafka SASL credentials are set but not used: set "
                f"{COMMON_ENV_PREFIX}KAFKA_SECURITY_PROTOCOL=SASL_SSL (or SASL_PLAINTEXT)"
            )
        if bool(self.kafka_ssl_certfile) != bool(self.kafka_ssl_keyfile):
            raise ValueError(
                "a Kafka client certificate needs its key: set both "
                f"{self.credentials_prefix}KAFKA_SSL_CERTFILE and "
                f"{self.credentials_prefix}KAFKA_SSL_KEYFILE"
            )
        return self


class ServiceSettings(KafkaClientSettings):
    """Settings every Quorum service has. Subclass per service and set ``env_prefix``."""

    model_config = SettingsConfigDict(env_prefix="QUORUM_SERVICE_", extra="ignore")

    service_name: ClassVar[str] = "quorum"

    environment: Environment = Field(
        Environment.production,
        description="production unless said: development and test accept the development secret",
    )
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    log_level: str = "INFO"
    log_json: bool | None = Field(
        None, description="JSON logs; defaults to true in production, console otherwise"
    )

    consumer_group: str | None = Field(None, description="Defaults to quorum-<service>")
    consumer_max_retries: int = Field(5, ge=0, le=100)
    consumer_retry_backoff_ms: int = Field(200, ge=1, le=60_000)
    #: a consumer that stops heartbeating this long is out of its group, its partitions given
    #: to the others (within the broker's group.min/max.session.timeout.ms)
    consumer_session_timeout_ms: int = Field(30_000, ge=6_000, le=300_000)
    #: 0: offsets are committed after every batch; more: at most this often (fewer commit
    #: requests, more redelivered after a crash, each dropped by the inbox)
    consumer_commit_interval_ms: int = Field(0, ge=0, le=3_600_000)

    mongodb_uri: str = "mongodb://127.0.0.1:27018/"
    mongodb_database: str | None = Field(None, description="Defaults to quorum_<service>")

    http_max_body_bytes: int = Field(
        4 * 1024 * 1024,
        ge=1024,
        le=1024 * 1024 * 1024,
        description="Largest request body a service reads (413 above it, before parsing); "
        "the default fits a batch of 1,000 registrations of about 4 KB",
    )
    outbox_poll_interval_ms: int = Field(200, ge=5, le=60_000)
    cors_origins: list[Annotated[str, Field(pattern=r"^https?://[^/\s]+$")]] = Field(
        default_factory=list,
        max_length=50,
        description="Origins of third-party frontends allowed to call the API from a browser "
        "(with a bearer token; docs/console.md). Empty: CORS closed, as Quorum's own console "
        "needs (it is on the services' origin)",
    )
    gc_gen0_threshold: int = Field(
        50_000,
        ge=0,
        le=1_000_000,
        description="Allocations between the garbage collector's young-generation passes "
        "(Python's default is 700; 0 keeps it). Services allocate many short-lived objects "
        "per event: fewer passes cost less CPU (docs/benchmarks.md)",
    )

    jwt_algorithm: str = Field("HS256", pattern="^(HS256|RS256)$")
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_public_key: str | None = Field(None, description="PEM public key for RS256")
    jwt_jwks_path: str | None = Field(None, description="Path to a JWKS file for RS256")
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_leeway_s: int = Field(30, ge=0, le=300, description="clock skew allowed on exp and nbf")

    @property
    def group_id(self) -> str:
        return self.consumer_group or f"quorum-{self.service_name}"

    @property
    def database_name(self) -> str:
        return self.mongodb_database or f"quorum_{self.service_name}"

    @property
    def json_logs(self) -> bool:
        if self.log_json is None:
            return self.environment is Environment.production
        return self.log_json

    @model_validator(mode="after")
    def _production_verifies_tokens_it_cannot_mint(self) -> Self:
        """Production verifies tokens with a public key (RS256), from the expected issuer for
        the expected audience: an HS256 secret would let anything that verifies also mint."""
        if self.environment is not Environment.production:
            return self
        missing = []
        if self.jwt_algorithm != "RS256":
            missing.append(f"{COMMON_ENV_PREFIX}JWT_ALGORITHM=RS256")
        if not (self.jwt_public_key or self.jwt_jwks_path):
            missing.append(f"{COMMON_ENV_PREFIX}JWT_PUBLIC_KEY or {COMMON_ENV_PREFIX}JWT_JWKS_PATH")
        if not self.jwt_issuer:
            missing.append(f"{COMMON_ENV_PREFIX}JWT_ISSUER")
        if not self.jwt_audience:
            missing.append(f"{COMMON_ENV_PREFIX}JWT_AUDIENCE")
        if missing:
            raise ValueError(
                "production verifies tokens with RS256 from your identity provider: set "
                + ", ".join(missing)
                + f" (or {COMMON_ENV_PREFIX}ENVIRONMENT=development on a developer's machine)"
            )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        common = _CommonEnvSource(settings_cls, env_prefix=COMMON_ENV_PREFIX)
        # earlier sources win: explicit args, then QUORUM_<SERVICE>_*, then QUORUM_*
        return init_settings, env_settings, common, dotenv_settings, file_secret_settings

    def safe_dump(self) -> dict[str, Any]:
        """Settings for logs: secrets masked by SecretStr, credentials in URIs masked."""
        data = self.model_dump(mode="json")
        data["mongodb_uri"] = mask_uri(self.mongodb_uri)
        return data


#: Words in a URI query parameter's name that say its value is a credential.
SENSITIVE_PARAMETERS = (
    "password",
    "secret",
    "token",
    "key",
    "credential",
    "authmechanismproperties",
)


def mask_uri(uri: str) -> str:
    """The URI with its user info and credential-like query values replaced by ``***``."""
    parts = urlsplit(uri)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = "&".join(
        f"{name}=***"
        if any(word in name.lower() for word in SENSITIVE_PARAMETERS)
        else f"{name}={value}"
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
