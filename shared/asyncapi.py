"""Generate the AsyncAPI 3.0 document of every Quorum event from the payload models.

    python -m shared.asyncapi > docs/asyncapi.yaml   (or: make asyncapi)

The document is checked in and a test keeps it equal to what the models say,
the way FastAPI derives OpenAPI from route signatures.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

import yaml
from pydantic.json_schema import models_json_schema

from shared.contracts.catalog import ALL_EVENTS
from shared.contracts.spec import EventSpec, Topic
from shared.events.codec import CONTENT_TYPE


def _message_name(spec: EventSpec[Any]) -> str:
    # quorum.media.registered.v1 -> media.registered.v1
    return spec.type.removeprefix("quorum.")


def _envelope_schema(payload_ref: str) -> dict[str, Any]:
    return {
        "type": "object",
        "description": "CloudEvents 1.0, structured JSON mode (Kafka protocol binding)",
        "required": ["id", "source", "type", "specversion", "data"],
        "properties": {
            "id": {"type": "string", "description": "unique per event; consumers dedupe on it"},
            "source": {"type": "string", "format": "uri-reference"},
            "type": {"type": "string"},
            "specversion": {"const": "1.0"},
            "time": {"type": "string", "format": "date-time"},
            "subject": {"type": "string"},
            "datacontenttype": {"const": "application/json"},
            "tenant": {
                "type": "string",
                "description": "extension: the tenant the event belongs to",
            },
            "traceparent": {"type": "string", "description": "extension: W3C trace context"},
            "data": {"$ref": payload_ref},
        },
    }


def build_document(specs: Iterable[EventSpec[Any]] = ALL_EVENTS) -> dict[str, Any]:
    specs = list(specs)
    models = sorted({spec.payload for spec in specs}, key=lambda m: m.__name__)
    _, top = models_json_schema(
        [(model, "validation") for model in models], ref_template="#/components/schemas/{model}"
    )
    schemas: dict[str, Any] = dict(sorted(top.get("$defs", {}).items()))

    topics: dict[str, Topic] = {}
    for spec in specs:
        topics.setdefault(spec.topic.name, spec.topic)

    channels: dict[str, Any] = {}
    for name, topic in sorted(topics.items()):
        address = f"{name}.{{tenant}}" if topic.per_tenant else name
        dead_letters = (
            f" Dead letters go to `{address}.dlq` with the original bytes and a "
            "`quorum-dlq-reason` header."
            if topic.dead_letter
            else ""
        )
        channels[name] = {
            "address": address,
            "description": f"{topic.summary}. Key: {topic.key}.{dead_letters}",
            "messages": {
                _message_name(s): {"$ref": f"#/components/messages/{_message_name(s)}"}
                for s in specs
                if s.topic.name == name
            },
            "bindings": {
                "kafka": {
                    "topic": address,
                    "topicConfiguration": {"max.message.bytes": topic.max_message_bytes},
                }
            },
        }
        if topic.per_tenant:
            forged = (
                "; a `tenant` extension naming another is dead-lettered."
                if topic.dead_letter
                else "."
            )
            channels[name]["parameters"] = {
                "tenant": {
                    "description": "the tenant id: every event of the topic is this tenant's"
                    f"{forged} The topic is created when the tenant is added "
                    "(`quorum-tenant-topics <tenant>`)."
                }
            }

    messages: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for spec in specs:
        message = _message_name(spec)
        messages[message] = {
            "name": spec.type,
            "title": spec.payload.__name__,
            "summary": spec.summary,
            "contentType": CONTENT_TYPE,
            "payload": _envelope_schema(f"#/components/schemas/{spec.payload.__name__}"),
            "bindings": {"kafka": {"key": {"type": "string", "description": topic_key(spec)}}},
            "x-producer": spec.producer,
            "x-consumers": list(spec.consumers),
        }
        ref = {"$ref": f"#/channels/{spec.topic.name}/messages/{message}"}
        operations[f"{_slug(spec.producer)}.send.{message}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{spec.topic.name}"},
            "messages": [ref],
            "summary": f"{spec.producer} publishes {spec.type}",
        }
        for consumer in spec.consumers:
            operations[f"{_slug(consumer)}.receive.{message}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{spec.topic.name}"},
                "messages": [ref],
                "summary": f"{consumer} consumes {spec.type}",
            }

    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Quorum events",
            "version": "1.0.0",
            "description": (
                "Every cross-service event of Quorum. Envelope: CloudEvents 1.0 in structured "
                "JSON mode over Kafka; `type` carries the schema version. Generated from the "
                "payload models by `python -m shared.asyncapi`; do not edit by hand."
            ),
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "local": {
                "host": "127.0.0.1:19092",
                "protocol": "kafka",
                "description": "the local broker started by `make run`",
            }
        },
        "channels": channels,
        "operations": dict(sorted(operations.items())),
        "components": {"messages": dict(sorted(messages.items())), "schemas": schemas},
    }


def topic_key(spec: EventSpec[Any]) -> str:
    return f"message key: {spec.topic.key}"


def _slug(name: str) -> str:
    return name.replace(" ", "_")


def render() -> str:
    return yaml.safe_dump(build_document(), sort_keys=False, allow_unicode=True, width=100)


if __name__ == "__main__":
    sys.stdout.write(render())
