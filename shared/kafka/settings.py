"""How a service reaches the Kafka cluster: where it is, the topics' shape, and how a client
connects and proves who it is (TLS, SASL/SCRAM)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiokafka.helpers import create_ssl_context
from pydantic import SecretStr

from shared.settings import KafkaClientSettings, SaslMechanism, SecurityProtocol


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap_servers: str
    topic_prefix: str = ""
    partitions: int = 6
    replication_factor: int = 1
    client_id: str = "quorum"
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)
    #: CA bundle that signed the brokers' certificates (else the system's trust store)
    ssl_cafile: str | None = None
    #: a client certificate and its key, for brokers that authenticate clients by TLS
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_key_password: str | None = field(default=None, repr=False)
    #: how often a consumer reads the cluster's metadata (and so finds new topics)
    metadata_max_age_ms: int = 30_000

    @classmethod
    def of(cls, settings: KafkaClientSettings, client_id: str) -> KafkaSettings:
        """The Kafka settings of a service's (or tool's) settings."""
        return cls(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            topic_prefix=settings.topic_prefix,
            partitions=settings.topic_partitions,
            replication_factor=settings.topic_replication_factor,
            client_id=settings.kafka_client_id or client_id,
            security_protocol=settings.kafka_security_protocol,
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_username=settings.kafka_sasl_username,
            sasl_password=_reveal(settings.kafka_sasl_password),
            ssl_cafile=settings.kafka_ssl_cafile,
            ssl_certfile=settings.kafka_ssl_certfile,
            ssl_keyfile=settings.kafka_ssl_keyfile,
            ssl_key_password=_reveal(settings.kafka_ssl_key_password),
            metadata_max_age_ms=settings.kafka_metadata_max_age_ms,
        )

    def client_options(self) -> dict[str, Any]:
        """The keyword arguments every aiokafka client (producer, consumer, admin) is given to
        connect and authenticate."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
        }
        if self.security_protocol in ("SSL", "SASL_SSL"):
            options["ssl_context"] = create_ssl_context(
                cafile=self.ssl_cafile,
                certfile=self.ssl_certfile,
                keyfile=self.ssl_keyfile,
                password=self.ssl_key_password,
            )
        if self.security_protocol in ("SASL_PLAINTEXT", "SASL_SSL"):
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.sasl_username
            options["sasl_plain_password"] = self.sasl_password
        return options


def _reveal(secret: SecretStr | None) -> str | None:
    return None if secret is None else secret.get_secret_value()
