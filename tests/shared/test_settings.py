"""Settings: prefixes, precedence, production by default, and what production requires."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.ingest.settings import IngestSettings
from shared.runtime import kafka_settings
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
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="ingest",
        kafka_sasl_password="kafka-pass-123",
    )
    dumped = str(settings.safe_dump())
    assert "kafka-pass-123" not in dumped and "'kafka_sasl_username': 'ingest'" in dumped
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


def test_kafka_sasl_needs_the_services_credentials_and_uses_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QUORUM_ENVIRONMENT", "development")
    monkeypatch.setenv("QUORUM_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    with pytest.raises(
        ValidationError,
        match="QUORUM_INGEST_KAFKA_SASL_USERNAME and QUORUM_INGEST_KAFKA_SASL_PASSWORD",
    ):
        IngestSettings()
    monkeypatch.setenv("QUORUM_INGEST_KAFKA_SASL_USERNAME", "ingest")
    monkeypatch.setenv("QUORUM_INGEST_KAFKA_SASL_PASSWORD", "secret-1")
    options = kafka_settings(IngestSettings()).client_options()
    assert options["security_protocol"] == "SASL_PLAINTEXT"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == (
        "ingest",
        "secret-1",
    )
    assert "ssl_context" not in options


def test_kafka_credentials_without_sasl_are_refused_not_ignored() -> None:
    with pytest.raises(ValidationError, match="KAFKA_SECURITY_PROTOCOL=SASL_SSL"):
        IngestSettings(environment="test", kafka_sasl_username="x", kafka_sasl_password="y")
    with pytest.raises(ValidationError, match="needs its key"):
        IngestSettings(environment="test", kafka_ssl_certfile="/etc/client.pem")


def test_kafka_tls_verifies_the_brokers_certificates() -> None:
    settings = IngestSettings(environment="test", kafka_security_protocol="SSL")
    context = kafka_settings(settings).client_options()["ssl_context"]
    assert context.verify_mode.name == "CERT_REQUIRED" and context.check_hostname
