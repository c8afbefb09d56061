"""The role-by-endpoint matrix, generated from a service's OpenAPI document.

Every operation lists the roles it admits (``x-roles``, from its role check: see
``shared/http/routing.py``); an operation with none must be one of :data:`PUBLIC`, so an
endpoint added without an access rule fails. For each operation:

* no token: 401;
* each role of the resource's tenant: 403 if the operation does not admit it, else neither
  401 nor 403 (nor a 5xx), on resources that do not exist (so nothing seeded changes);
* each admitted role of another tenant, on the tenant's resources (the path and required
  query parameters a service's test seeds): 404, the tenant's resources read back
  unchanged, and nothing published: once the service's outbox holds nothing pending, every
  topic of the deployment ends where it ended before the calls.

A service's test module builds the seeds (ids of resources of tenant ``acme``) and calls
:func:`check_operation` for each operation of :func:`operations_of`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI

from shared.auth.principal import Role
from shared.settings import ServiceSettings
from tests.kafka_helpers import published_offsets
from tests.service_helpers import auth

PUBLIC = {"GET /healthz", "GET /readyz"}
TENANT, OTHER_TENANT = "acme", "globex"


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    roles: frozenset[str] | None
    spec: Mapping[str, Any] = field(repr=False, compare=False, hash=False)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)

    @property
    def names(self) -> list[str]:
        """What names the resource: path parameters and required query parameters."""
        required = [
            p["name"]
            for p in self.spec.get("parameters", [])
            if p["in"] == "query" and p.get("required")
        ]
        return [*self.path_params, *required]


def operations_of(app: FastAPI) -> list[Operation]:
    """Every operation of the app's OpenAPI document, with the roles it admits."""
    found = []
    for path, methods in app.openapi()["paths"].items():
        for method, spec in methods.items():
            roles = spec.get("x-roles")
            found.append(Operation(method.upper(), path, frozenset(roles) if roles else None, spec))
    return sorted(found, key=str)


@dataclass
class Seeds:
    """What a service's matrix needs to reach its tenant's resources: a value for each path
    and required query parameter (by name), and the GETs whose answers must not change when
    another tenant calls."""

    values: dict[str, str]
    reads: list[str] = field(default_factory=list)
    #: a valid body for an operation (by ``"METHOD /path"``), so that another tenant's call
    #: reaches the resource's lookup; others get ``{}``
    bodies: dict[str, Any] = field(default_factory=dict)
    #: the service's settings: its database's outbox and the deployment's topics are checked
    #: unchanged by another tenant's calls
    settings: ServiceSettings | None = None


def _request(operation: Operation, seeds: Seeds, *, on_seeds: bool = True) -> dict[str, Any]:
    """The operation's request: on the seeded resources, or (``on_seeds=False``) on ones that
    do not exist, so that an admitted role's call changes none of them."""
    path = operation.path
    for name in operation.path_params:
        value = seeds.values.get(name, "unknown-1") if on_seeds else "unknown-1"
        path = path.replace(f"{{{name}}}", value)
    params, headers = {}, {}
    for parameter in operation.spec.get("parameters", []):
        name, schema = parameter["name"], parameter.get("schema", {})
        value = seeds.values.get(name) or (schema.get("enum") or ["1"])[0]
        if parameter["in"] == "query" and parameter.get("required"):
            params[name] = value
        elif parameter["in"] == "header":  # e.g. If-Match: the seeded resource's ETag
            headers[name] = value
    request: dict[str, Any] = {
        "method": operation.method,
        "url": path,
        "params": params,
        "headers": headers,
    }
    content = operation.spec.get("requestBody", {}).get("content", {})
    body = seeds.bodies.get(str(operation), {})
    if "application/json" in content:
        request["json"] = body
    elif content:
        request["content"] = body if isinstance(body, bytes) else b"{}"
        request["headers"]["Content-Type"] = next(iter(content))
    return request


async def _send(
    client: httpx.AsyncClient, request: Mapping[str, Any], headers: Mapping[str, str]
) -> httpx.Response:
    return await client.request(**{**request, "headers": {**request.get("headers", {}), **headers}})


async def _read_back(client: httpx.AsyncClient, seeds: Seeds) -> dict[str, Any]:
    admin = auth("admin", tenant=TENANT)
    state = {}
    for url in seeds.reads:
        response = await client.get(url, headers=admin)
        # a problem's body carries its request id: only a success's body is the state
        state[url] = (response.status_code, response.content if response.is_success else None)
    return state


async def check_operation(client: httpx.AsyncClient, operation: Operation, seeds: Seeds) -> None:
    """Every access rule of the matrix for one operation; one message naming each breach."""
    if operation.roles is None:
        assert str(operation) in PUBLIC, f"{operation} has no role check: give it one"
        response = await client.request(operation.method, operation.path)
        assert response.status_code == 200, f"{operation} (public): {response.status_code}"
        return
    request = _request(operation, seeds)
    breaches: list[str] = []

    anonymous = await _send(client, request, {})
    if anonymous.status_code != 401:
        breaches.append(f"no token: {anonymous.status_code}, not 401")

    if any(name in seeds.values for name in operation.names):
        before = await _read_back(client, seeds)
        offsets = await published_offsets(seeds.settings) if seeds.settings else None
        for role in sorted(operation.roles):
            response = await _send(client, request, auth(role, tenant=OTHER_TENANT))
            if response.status_code != 404:
                breaches.append(f"{role} of another tenant: {response.status_code}, not 404")
        if await _read_back(client, seeds) != before:
            breaches.append("another tenant's calls changed the tenant's resources")
        if seeds.settings and await published_offsets(seeds.settings) != offsets:
            breaches.append("another tenant's calls published events")

    elsewhere = _request(operation, seeds, on_seeds=False)
    for role in Role:
        response = await _send(client, elsewhere, auth(role.value, tenant=TENANT))
        admitted = role.value in operation.roles
        if not admitted and response.status_code != 403:
            breaches.append(f"{role.value}: {response.status_code}, not 403")
        if admitted and (response.status_code in (401, 403) or response.status_code >= 500):
            breaches.append(f"{role.value} (admitted): {response.status_code} {response.text}")
    assert not breaches, f"{operation}: " + "; ".join(breaches)
