"""Settings: prefixes, precedence, and refusal of placeholder secrets outside development."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.ingest.settings import IngestSettings
from shared.settings import DEV_JWT_SECRET


def test_service_prefix_wins_over_the_common_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUORUM_KAFKA_BOOTSTRAP_SERVERS", "common:9092")
    monkeypatch.setenv("QUORUM_MONGODB_URI", "mongodb://common/")
    monkeypatch.setenv("QUORUM_INGEST_KAFKA_BOOTSTRAP_SERVERS", "ingest:9092")
    settings = IngestSettings()
    assert settings.kafka_bootstrap_servers == "ingest:9092"
    assert settings.mongodb_uri == "mongodb://common/"
    assert settings.database_name == "quorum_ingest"
    assert settings.group_id == "quorum-ingest"


def test_production_refuses_the_development_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUORUM_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="QUORUM_JWT_SECRET"):
        IngestSettings()
    monkeypatch.setenv("QUORUM_JWT_SECRET", "changeme")
    with pytest.raises(ValidationError, match="placeholder"):
        IngestSettings()
    monkeypatch.setenv("QUORUM_JWT_SECRET", "x" * 40)
    assert IngestSettings().json_logs is True


def test_production_rs256_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUORUM_ENVIRONMENT", "production")
    monkeypatch.setenv("QUORUM_JWT_ALGORITHM", "RS256")
    with pytest.raises(ValidationError, match="RS256"):
        IngestSettings()


def test_development_accepts_the_default_secret() -> None:
    settings = IngestSettings(environment="development")
    assert settings.jwt_secret.get_secret_value() == DEV_JWT_SECRET
    assert settings.json_logs is False


def test_safe_dump_hides_secrets_and_credentials() -> None:
    settings = IngestSettings(mongodb_uri="mongodb://user:pw@db:27017/", jwt_secret="s" * 40)
    dumped = str(settings.safe_dump())
    assert "pw" not in dumped.replace("password", "")
    assert "s" * 40 not in dumped


def test_per_service_values_need_the_service_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUORUM_PORT", "9999")
    monkeypatch.setenv("QUORUM_MONGODB_DATABASE", "shared_db")
    monkeypatch.setenv("QUORUM_INGEST_CONSUMER_GROUP", "ingest-blue")
    settings = IngestSettings()
    assert settings.port == 8001
    assert settings.database_name == "quorum_ingest"
    assert settings.group_id == "ingest-blue"
