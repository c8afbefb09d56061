"""Settings: prefixes, precedence, production by default, and what production requires."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.ingest.settings import IngestSettings
from shared.settings import DEV_JWT_SECRET


def test_service_prefix_wins_over_the_common_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUORUM_ENVIRONMENT", "development")
    monkeypatch.setenv("QUORUM_KAFKA_BOOTSTRAP_SERVERS", "common:9092")
    monkeypatch.setenv("QUORUM_MONGODB_URI", "mongodb://common/")
    monkeypatch.setenv("QUORUM_INGEST_KAFKA_BOOTSTRAP_SERVERS", "ingest:9092")
    settings = IngestSettings()
    assert settings.kafka_bootstrap_servers == "ingest:9092"
    assert settings.mongodb_uri == "mongodb://common/"
    assert settings.database_name == "quorum_ingest"
    assert settings.group_id == "quorum-ingest"


def test_the_environment_is_production_unless_said(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QUORUM_ENVIRONMENT", raising=False)
    with pytest.raises(ValidationError, match="production verifies tokens with RS256"):
        IngestSettings()


def test_production_verifies_rs256_tokens_of_one_issuer_for_one_audience(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QUORUM_ENVIRONMENT", "production")
    monkeypatch.setenv("QUORUM_JWT_SECRET", "x" * 64)  # a shared secret is not enough
    with pytest.raises(ValidationError) as refused:
        IngestSettings()
    for needed in ("JWT_ALGORITHM=RS256", "JWT_PUBLIC_KEY", "JWT_ISSUER", "JWT_AUDIENCE"):
        assert needed in str(refused.value)
    monkeypatch.setenv("QUORUM_JWT_ALGORITHM", "RS256")
    monkeypatch.setenv("QUORUM_JWT_PUBLIC_KEY", "-----BEGIN PUBLIC KEY-----")
    monkeypatch.setenv("QUORUM_JWT_ISSUER", "https://id.example.com/")
    with pytest.raises(ValidationError, match="JWT_AUDIENCE"):
        IngestSettings()
    monkeypatch.setenv("QUORUM_JWT_AUDIENCE", "quorum")
    settings = IngestSettings()
    assert settings.json_logs is True and settings.jwt_leeway_s == 30


def test_development_accepts_the_default_secret() -> None:
    settings = IngestSettings(environment="development")
    assert settings.jwt_secret.get_secret_value() == DEV_JWT_SECRET
    assert settings.json_logs is False


def test_safe_dump_hides_secrets_and_credentials() -> None:
    settings = IngestSettings(
        environment="test",
        mongodb_uri="mongodb://user:pw@db:27017/?replicaSet=rs0&tlsCertificateKeyFilePassword=kfp"
        "&authMechanismProperties=AWS_SESSION_TOKEN:tok",
        jwt_secret="s" * 40,
    )
    dumped = str(settings.safe_dump())
    assert "pw" not in dumped.replace("Password", "") and "kfp" not in dumped
    assert "tok" not in dumped.replace("TOKEN", "") and "s" * 40 not in dumped
    assert "replicaSet=rs0" in dumped


def test_per_service_values_need_the_service_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUORUM_ENVIRONMENT", "development")
    monkeypatch.setenv("QUORUM_PORT", "9999")
    monkeypatch.setenv("QUORUM_MONGODB_DATABASE", "shared_db")
    monkeypatch.setenv("QUORUM_INGEST_CONSUMER_GROUP", "ingest-blue")
    settings = IngestSettings()
    assert settings.port == 8001
    assert settings.database_name == "quorum_ingest"
    assert settings.group_id == "ingest-blue"
