"""Fuzzing a service's API with schemathesis, against the app served on loopback with its real
lifespan (MongoDB, Kafka, relay, consumers): every operation of its OpenAPI document, with the
four checks, a fixed seed and a bounded number of cases. ``make fuzz`` runs the same tests
longer, with a random seed it prints (``QUORUM_FUZZ_EXAMPLES``, ``QUORUM_FUZZ_SEED``).

Each case is sent as one of the roles its operation admits (``x-roles``), drawn with the case,
so every role's routes are reached, not answered 403. A service's test may seed a
:class:`FuzzEstate` (resources of tenant acme, made through its API once it runs): the fuzzer
then draws path and query values from the estate's ids beside the ones it invents, sends valid
bodies beside invented ones, and names state that only exists at call time (an expert's live
lease) by tokens resolved just before the call."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
import uvicorn
from fastapi import FastAPI
from hypothesis import HealthCheck, assume, seed, settings
from hypothesis import strategies as st
from requests.structures import CaseInsensitiveDict
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
TENANT = "acme"
#: roles narrowest first: the order of an operation's roles
ROLES = ("expert", "client", "ops", "admin")
#: a token standing for a new unique id at each call (a submission id, a batch id)
FRESH = "@fresh"
#: a header carrying the principal drawn with a case to :func:`call`, which removes it
PRINCIPAL_HEADER = "X-Quorum-Fuzz-Principal"

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


@dataclass
class FuzzEstate:
    """What the fuzzer may name beside what it invents: resources of tenant acme that a
    service's test made once the service runs."""

    #: the subjects a role's tokens carry (by role; ``fuzzer`` for a role not listed)
    subjects: dict[str, list[str]] = field(default_factory=dict)
    #: ids by parameter name (path, query and header parameters alike)
    values: dict[str, list[Any]] = field(default_factory=dict)
    #: ids of one operation (by ``"METHOD /path"``) in place of :attr:`values`: keeps an
    #: operation that would spoil the estate (suspending the expert whose leases the other
    #: operations use) on resources of its own
    only: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    #: valid bodies by operation, drawn beside invented ones (may hold tokens)
    bodies: dict[str, list[Any]] = field(default_factory=dict)
    #: tokens (whole strings in values and bodies) standing for state that exists only at call
    #: time, and the function that gives what each stands for then (the id of a lease the
    #: expert holds now: the fuzzer's releases and judgments use leases up)
    tokens: frozenset[str] = frozenset()
    live: Callable[[], Mapping[str, str]] | None = None
    #: told when a case that used tokens succeeded or conflicted: what they stood for may be
    #: used up (a lease released or judged), so ``live`` looks again
    spent: Callable[[], None] | None = None

    def subjects_of(self, role: str) -> list[str]:
        return self.subjects.get(role) or ["fuzzer"]

    def values_of(self, operation: str, name: str) -> list[Any]:
        return self.only.get(operation, {}).get(name) or self.values.get(name) or []


def roles_of(spec: Mapping[str, Any]) -> dict[str, list[str]]:
    """The roles each operation (``"METHOD /path"``) admits, narrowest first; none: public."""
    return {
        f"{method.upper()} {path}": sorted(operation.get("x-roles") or [], key=ROLES.index)
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
    }


#: a value drawn for an optional parameter the case leaves out
_LEFT_OUT = object()


def _with_estate(case: Any, principal: str | None, draws: Mapping[str, Any]) -> Any:
    """The case with the principal drawn for it and the estate's values drawn in place of the
    invented ones."""
    for location in ("path_parameters", "query", "headers"):
        chosen = {k: v for k, v in draws.get(location, {}).items() if v is not _LEFT_OUT}
        if chosen:
            setattr(case, location, {**(getattr(case, location) or {}), **chosen})
    if principal:
        if case.headers is None:
            case.headers = CaseInsensitiveDict()
        case.headers[PRINCIPAL_HEADER] = principal
    if "body" in draws:
        case.body = draws["body"]
    return case


def estate_strategy(
    case: Any, operation: str, roles: list[str], estate: FuzzEstate
) -> st.SearchStrategy[Any]:
    """The case as one of its operation's roles, with the estate's ids and bodies drawn beside
    the invented values (the estate's first, so a shrunk failure names real resources)."""
    principals = [f"{role}:{subject}" for role in roles for subject in estate.subjects_of(role)]
    principal = st.sampled_from(principals) if principals else st.none()
    draws: dict[str, st.SearchStrategy[Any]] = {}
    declared = {
        location: {p.name for p in getattr(case.operation, location, [])}
        for location in ("path_parameters", "query", "headers")
    }
    for location, names in declared.items():
        invented = getattr(case, location) or {}
        chosen = {}
        for name in sorted(names):
            pool = estate.values_of(operation, name)
            if pool:
                chosen[name] = st.one_of(
                    st.sampled_from(pool), st.just(invented.get(name, _LEFT_OUT))
                )
        if chosen:
            draws[location] = st.fixed_dictionaries(chosen)
    bodies = estate.bodies.get(operation)
    if bodies:
        draws["body"] = st.one_of(st.sampled_from(bodies).map(copy.deepcopy), st.just(case.body))
    return st.tuples(principal, st.fixed_dictionaries(draws)).map(
        lambda drawn: _with_estate(case, drawn[0], drawn[1])
    )


def _name_estate(case: Any, operation: str, estate: FuzzEstate) -> None:
    """A case schemathesis made without drawing (its coverage phase: boundary and invalid
    values of one parameter or the body at a time) names the estate's first resources in the
    path parameters it does not vary: a note of the longest length reaches a live lease."""
    phase = getattr(getattr(case, "meta", None), "phase", None)
    data = getattr(phase, "data", None)
    location = getattr(getattr(data, "parameter_location", None), "value", None)
    varied = getattr(data, "parameter", None) if location == "path" else None
    named = {
        name: pool[0]
        for name in case.path_parameters or {}
        if name != varied and (pool := estate.values_of(operation, name))
    }
    if named:
        case.path_parameters = {**case.path_parameters, **named}


def _resolved(value: Any, tokens: Mapping[str, str]) -> Any:
    """``value`` with every token (a whole string) replaced by what it stands for now."""
    if isinstance(value, str):
        if value == FRESH:
            return uuid.uuid4().hex
        return tokens.get(value, value)
    if isinstance(value, dict):
        return {k: _resolved(v, tokens) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolved(v, tokens) for v in value]
    return value


#: the statuses each operation of each service answered each role, over the session's fuzzing
ANSWERS: defaultdict[tuple[str, str, str], Counter[int]] = defaultdict(Counter)
#: how many cases of each operation went without a drawn principal
UNDRAWN: Counter[tuple[str, str]] = Counter()


#: headers that frame the message, owned by the HTTP client and server, not by the API: schemathesis
#: also invents undeclared headers, and an invented ``Transfer-Encoding: `` (empty) is a malformed
#: message the server refuses before the app (400, text/plain), as it must
FRAMING = frozenset({"content-length", "transfer-encoding", "connection", "host", "te", "upgrade"})


def call(case: Any, base_url: str, roles: list[str], estate: FuzzEstate, service: str) -> None:
    """Send the case as the principal drawn with it (cases schemathesis makes without drawing,
    those of its coverage phase: each role the operation admits in turn), its tokens resolved,
    and apply the four checks."""
    principal = case.headers.pop(PRINCIPAL_HEADER, None) if case.headers else None
    assume(not FRAMING.intersection(name.lower() for name in case.headers or {}))
    operation = f"{case.method.upper()} {case.path}"
    if principal is None:  # made before the estate was, at collection: its ids now
        _name_estate(case, operation, estate)
        if roles:
            role = roles[UNDRAWN[(service, operation)] % len(roles)]
            UNDRAWN[(service, operation)] += 1
            principal = f"{role}:{estate.subjects_of(role)[0]}"
    sent = json.dumps([case.path_parameters, case.query, case.body], default=str)
    used = {token for token in estate.tokens if json.dumps(token) in sent}
    if used or json.dumps(FRESH) in sent:
        tokens = estate.live() if used and estate.live is not None else {}
        for location in ("path_parameters", "query", "body"):
            setattr(case, location, _resolved(getattr(case, location), tokens))
    auth, role = {}, "anonymous"
    if principal:
        role, _, subject = principal.partition(":")
        token = mint_token(subject=subject, tenant=TENANT, role=role)
        auth = {"Authorization": f"Bearer {token}"}
    response = case.call_and_validate(base_url=base_url, headers=auth, checks=CHECKS)
    ANSWERS[(service, operation, role)][response.status_code] += 1
    if (
        used
        and estate.spent is not None
        and (response.status_code < 300 or response.status_code == 409)
    ):
        estate.spent()


#: what a service's test gives to seed its estate: the served app's base URL, settings, app
Seeder = Callable[[str, Any, FastAPI], FuzzEstate]


def fuzz_tests(
    create_app: Callable[[Any], FastAPI],
    settings_class: type[ServiceSettings],
    seeder: Seeder | None = None,
    **overrides: Any,
) -> tuple[Any, Any]:
    """The module fixture ``base_url`` and the test that fuzz one service: its test module
    assigns both (``base_url, test_... = fuzz_tests(create_app, IngestSettings)``). The
    operations are those of the service's OpenAPI document, so new endpoints are fuzzed too;
    ``seeder`` makes the estate the cases draw from, once the app is served; ``overrides``
    are settings of the served app."""
    spec = create_app(settings_class(environment="test")).openapi()
    schema = schemathesis.openapi.from_dict(spec)
    roles = roles_of(spec)
    #: the module's estate, once seeded (the hooks read it when they draw)
    estate = FuzzEstate()

    def flatmap_case(context: Any, case: Any) -> st.SearchStrategy[Any]:
        operation = context.operation.label
        return estate_strategy(case, operation, roles.get(operation, []), estate)

    schema.hooks.register_hook_with_name(flatmap_case, "flatmap_case")

    @pytest.fixture(scope="module")
    def base_url(make_settings: Callable[..., Any]) -> Iterator[str]:
        settings = make_settings(settings_class, **overrides)
        app = create_app(settings)
        with served(app) as base:
            if seeder is not None:
                seeded = seeder(base, settings, app)
                estate.__dict__.update(seeded.__dict__)
            yield base

    @schema.parametrize()  # type: ignore[misc]
    @fuzz_settings
    @seed(SEED)
    def test_every_operation_answers_as_documented(case: Any, base_url: str) -> None:
        operation = f"{case.method.upper()} {case.path}"
        call(case, base_url, roles.get(operation, []), estate, settings_class.service_name)

    return base_url, test_every_operation_answers_as_documented


def reach_test(
    create_app: Callable[[Any], FastAPI], settings_class: type[ServiceSettings]
) -> Callable[[], None]:
    """A test for the service's fuzz module, after its fuzz test: every role an operation
    admits got past its role check (an answer other than 401 and 403) on some case, so no
    role's routes were fuzzed in vain."""
    roles = roles_of(create_app(settings_class(environment="test")).openapi())
    service = settings_class.service_name

    def test_each_role_an_operation_admits_got_past_its_role_check() -> None:
        seen = {(op, role): c for (svc, op, role), c in ANSWERS.items() if svc == service}
        if not seen:
            pytest.skip("runs after the module's fuzz test")
        unreached = [
            f"{operation} as {role}: {dict(seen.get((operation, role), {}))}"
            for operation, admitted in roles.items()
            for role in admitted
            if not set(seen.get((operation, role), {})) - {401, 403}
        ]
        assert not unreached, "never past the role check: " + "; ".join(unreached)

    return test_each_role_an_operation_admits_got_past_its_role_check
