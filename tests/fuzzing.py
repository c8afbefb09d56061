"""Fuzzing a service's API with schemathesis, against the app served on loopback with its real
lifespan (MongoDB, Kafka, relay, consumers): every operation of its OpenAPI document, with the
four checks, a fixed seed and a bounded number of cases. ``make fuzz`` runs the same tests
longer, with a random seed it prints (``QUORUM_FUZZ_EXAMPLES``, ``QUORUM_FUZZ_SEED``)."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
import uvicorn
from fastapi import FastAPI
from hypothesis import HealthCheck, assume, seed, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from shared.auth.tokens import mint_token
from shared.settings import ServiceSettings

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
#: cases per operation in `make test`; `make fuzz` sets more
EXAMPLES = int(os.environ.get("QUORUM_FUZZ_EXAMPLES", "12"))
SEED = int(os.environ.get("QUORUM_FUZZ_SEED", "20261201"))
ADMIN = {"Authorization": f"Bearer {mint_token(subject='fuzzer', tenant='acme', role='admin')}"}

fuzz_settings = settings(
    max_examples=EXAMPLES,
    derandomize=False,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)


@contextlib.contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port, its lifespan started; the base URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_config=None, access_log=False, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="fuzzed-app", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


#: headers that frame the message, owned by the HTTP client and server, not by the API: schemathesis
#: also invents undeclared headers, and an invented ``Transfer-Encoding: `` (empty) is a malformed
#: message the server refuses before the app (400, text/plain), as it must
FRAMING = frozenset({"content-length", "transfer-encoding", "connection", "host", "te", "upgrade"})


def call(case: Any, base_url: str) -> None:
    """Send the case as an admin of tenant acme and apply the four checks."""
    assume(not FRAMING.intersection(name.lower() for name in case.headers or {}))
    case.call_and_validate(base_url=base_url, headers=ADMIN, checks=CHECKS)


def fuzz_tests(
    create_app: Callable[[Any], FastAPI], settings_class: type[ServiceSettings]
) -> tuple[Any, Any]:
    """The module fixture ``base_url`` and the test that fuzz one service: its test module
    assigns both (``base_url, test_... = fuzz_tests(create_app, IngestSettings)``). The
    operations are those of the service's OpenAPI document, so new endpoints are fuzzed too."""
    schema = schemathesis.openapi.from_dict(
        create_app(settings_class(environment="test")).openapi()
    )

    @pytest.fixture(scope="module")
    def base_url(make_settings: Callable[..., Any]) -> Iterator[str]:
        with served(create_app(make_settings(settings_class))) as base:
            yield base

    @schema.parametrize()  # type: ignore[misc]
    @fuzz_settings
    @seed(SEED)
    def test_every_operation_answers_as_documented(case: Any, base_url: str) -> None:
        call(case, base_url)

    return base_url, test_every_operation_answers_as_documented
