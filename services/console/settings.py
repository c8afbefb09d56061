"""Settings of the console (environment prefix ``QUORUM_CONSOLE_``, then ``QUORUM_``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar, Self

from pydantic import Field, SecretStr, StringConstraints, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import Environment, ServiceSettings

#: signs the sign-in's state cookie on a developer's machine only (production needs its own)
DEV_SESSION_SECRET = "quorum-console-development-session-secret-0123456789"  # noqa: S105
PREFIX = "QUORUM_CONSOLE_"

#: the built console (``make web``): ``web/dist`` beside the services
DEFAULT_STATIC_DIR = Path(__file__).resolve().parents[2] / "web" / "dist"
#: where a service answers
ServiceUrl = Annotated[str, StringConstraints(max_length=2048, pattern=r"^https?://")]


class ConsoleSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="QUORUM_CONSOLE_", extra="ignore")
    service_name: ClassVar[str] = "console"

    port: int = Field(8000, ge=1, le=65535)
    static_dir: Path = Field(DEFAULT_STATIC_DIR, description="the built single-page app")
    ingest_url: ServiceUrl = "http://127.0.0.1:8001"
    assignment_url: ServiceUrl = "http://127.0.0.1:8002"
    metrics_url: ServiceUrl = "http://127.0.0.1:8003"
    taxonomy_url: ServiceUrl = "http://127.0.0.1:8004"
    media_origins: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:8005"],
        max_length=20,
        description="origins the pages may load media and waveform peaks from (the Content "
        "Security Policy's media sources: the media server, an object store's presign host)",
    )
    session_ttl_s: int = Field(
        8 * 3600, ge=60, le=7 * 24 * 3600, description="how long a development sign-in lasts"
    )
    upstream_timeout_s: float = Field(30.0, gt=0, le=600)

    # Sign-in with the organisation's OpenID Connect provider (docs/console.md, Signing in)
    oidc_issuer: str | None = Field(
        None,
        max_length=2048,
        pattern=r"^https?://[^\s]+$",
        description="the identity provider's issuer URL ({issuer}/.well-known/openid-"
        "configuration); https (http only outside production). Unset: no OIDC sign-in",
    )
    oidc_client_id: str | None = Field(None, min_length=1, max_length=512)
    oidc_client_secret: SecretStr | None = Field(
        None, description="a confidential client's secret (PKCE is used either way)"
    )
    oidc_redirect_url: str | None = Field(
        None,
        max_length=2048,
        pattern=r"^https?://[^\s]+/session/callback$",
        description="the console's own /session/callback URL, as registered at the provider",
    )
    oidc_scopes: str = Field("openid profile", min_length=1, max_length=1024)
    session_secret: SecretStr | None = Field(
        None,
        description="signs the short-lived sign-in cookie (state, nonce, PKCE verifier); the "
        "same on every replica. Required with OIDC in production (32 characters or more)",
    )

    @property
    def upstreams(self) -> dict[str, str]:
        return {
            "ingest": self.ingest_url,
            "assignment": self.assignment_url,
            "metrics": self.metrics_url,
            "taxonomy": self.taxonomy_url,
        }

    @property
    def oidc_configured(self) -> bool:
        return self.oidc_issuer is not None

    @property
    def development_sign_in(self) -> bool:
        """The development sign-in is allowed: not production, tokens with the shared secret."""
        return self.environment is not Environment.production and self.jwt_algorithm == "HS256"

    @property
    def session_key(self) -> bytes:
        secret = self.session_secret.get_secret_value() if self.session_secret else None
        return (secret or DEV_SESSION_SECRET).encode()

    @model_validator(mode="after")
    def _oidc_complete(self) -> Self:
        if self.oidc_issuer is None:
            return self
        missing = [
            f"{PREFIX}{name.upper()}"
            for name in ("oidc_client_id", "oidc_redirect_url")
            if not getattr(self, name)
        ]
        if missing:
            raise ValueError(f"OIDC sign-in ({PREFIX}OIDC_ISSUER) also needs {', '.join(missing)}")
        if self.environment is not Environment.production:
            return self
        plain = [
            f"{PREFIX}{name.upper()}"
            for name in ("oidc_issuer", "oidc_redirect_url")
            if str(getattr(self, name)).startswith("http://")
        ]
        if plain:
            raise ValueError(f"production signs in over https only: {', '.join(plain)} is http")
        secret = self.session_secret.get_secret_value() if self.session_secret else ""
        if len(secret) < 32 or secret == DEV_SESSION_SECRET:
            raise ValueError(
                f"OIDC sign-in in production needs {PREFIX}SESSION_SECRET: 32 characters or "
                "more, random, the same on every replica of the console"
            )
        return self

    @property
    def secure_cookies(self) -> bool:
        """Session cookies only over HTTPS, but on a developer's machine."""
        return self.environment is Environment.production
