"""Structured logging with structlog.

Console output in development, JSON lines in production. Context (service,
tenant, request id, trace id) is bound through ``structlog.contextvars`` by the
HTTP middleware, and the Kafka consumer runner binds the event it applies
(:func:`bind_event`: event id and type, tenant, item id, key, trace id), so every
line logged while handling a request or an event carries it.
Values under keys that look like credentials are masked.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import MutableMapping
from contextvars import ContextVar, Token
from typing import Any, Protocol

import structlog

SENSITIVE_KEYS = ("authorization", "token", "password", "secret", "api_key", "cookie", "jwt")


class LoggedEvent(Protocol):
    """What the log context reads from the event a consumer is applying."""

    @property
    def id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def tenant(self) -> str | None: ...
    @property
    def key(self) -> str: ...
    @property
    def data(self) -> Any: ...
    @property
    def trace_id(self) -> str | None: ...


#: The event a consumer is applying. The log context fields are read from it only when a
#: line is logged: binding them for every event would cost more than applying most events.
_EVENT: ContextVar[LoggedEvent | None] = ContextVar("quorum_event", default=None)


def _merge_event_context(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    event = _EVENT.get()
    if event is not None:
        context = {
            "event_id": event.id,
            "event_type": event.type,
            "tenant": event.tenant,
            "item_id": getattr(event.data, "item_id", None),
            "key": event.key,
            "trace_id": event.trace_id,
        }
        for key, value in context.items():
            if value is not None:
                event_dict.setdefault(key, value)
    return event_dict


def _mask_secrets(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        lowered = key.lower()
        if any(marker in lowered for marker in SENSITIVE_KEYS):
            event_dict[key] = "***"
    return event_dict


#: Conditions of a Kafka cluster that pass by themselves and that aiokafka retries (it logs some
#: at error level): a topic being created, a partition electing its leader, a group coordinator
#: loading. Expected while a service starts against a new cluster: logged at debug level in the
#: first :data:`STARTUP_S` seconds, as warnings after. Anything else keeps its level.
TRANSIENT_KAFKA_ERRORS = (
    "NotLeaderForPartitionError",
    "LeaderNotAvailableError",
    "GroupCoordinatorNotAvailableError",
    "CoordinatorNotAvailableError",
    "CoordinatorLoadInProgressError",
    "NotCoordinatorForGroupError",
    "NotCoordinatorError",
    "UnknownTopicOrPartitionError",
    "not found in cluster metadata",
    "Marking the coordinator dead",
)
STARTUP_S = 60.0


class TransientKafkaErrors(logging.Filter):
    """aiokafka's records of :data:`TRANSIENT_KAFKA_ERRORS`: debug while the service starts,
    warnings after (dropped below the handler's level)."""

    def __init__(self, started: float | None = None) -> None:
        super().__init__()
        self.started = time.monotonic() if started is None else started

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or not record.name.startswith("aiokafka"):
            return True
        message = record.getMessage()
        if not any(marker in message for marker in TRANSIENT_KAFKA_ERRORS):
            return True
        starting = time.monotonic() - self.started < STARTUP_S
        level = logging.DEBUG if starting else logging.WARNING
        record.levelno, record.levelname = level, logging.getLevelName(level)
        return level >= logging.getLogger().getEffectiveLevel()


def configure_logging(service: str, *, level: str = "INFO", json: bool = False) -> None:
    """Configure structlog and route stdlib logging (uvicorn, aiokafka) through it."""
    shared_processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        _merge_event_context,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _mask_secrets,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[*shared_processors, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared_processors,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info if json else _identity,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    handler.addFilter(TransientKafkaErrors())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "kafka", "pymongo"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    for uvicorn_logger in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(uvicorn_logger).handlers[:] = []
        logging.getLogger(uvicorn_logger).propagate = True
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service)


def _identity(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    return event_dict


def get_logger(name: str | None = None) -> Any:
    return structlog.stdlib.get_logger(name)


def bind_event(event: LoggedEvent) -> Token[LoggedEvent | None]:
    """Log lines from now on carry the event's id, type, tenant, item id, key and trace id.

    The consumer's per-event path; undo with :func:`unbind_event`.
    """
    return _EVENT.set(event)


def unbind_event(token: Token[LoggedEvent | None]) -> None:
    _EVENT.reset(token)
