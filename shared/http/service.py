"""What a running service's app holds, typed: its runtime and its use cases.

Routes reach a use case through one dependency, ``Annotated[Registrations,
Depends(use_case(Registrations))]``; tests and tools reach the runtime with
:func:`service_of`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

from fastapi import FastAPI, Request

from shared.runtime import Runtime

U = TypeVar("U")


class Service:
    """A service's runtime and its use cases, one instance of each use-case class."""

    def __init__(self, runtime: Runtime, use_cases: Iterable[object]) -> None:
        self.runtime = runtime
        self._use_cases: dict[type[Any], object] = {}
        for use_case in use_cases:
            if type(use_case) in self._use_cases:
                raise ValueError(f"two use cases of type {type(use_case).__name__}")
            self._use_cases[type(use_case)] = use_case

    def get(self, kind: type[U]) -> U:
        found = self._use_cases.get(kind)
        if found is None:
            raise LookupError(f"{kind.__name__} is not a use case of this service")
        return cast(U, found)


def service_of(app: FastAPI) -> Service:
    """The service an app built by :func:`shared.http.app.create_service_app` runs."""
    service = getattr(app.state, "service", None)
    if not isinstance(service, Service):
        raise RuntimeError("this app was not built by create_service_app")
    return service


def use_case(kind: type[U]) -> Callable[[Request], U]:
    """A route dependency that gives the service's instance of ``kind``."""

    def dependency(request: Request) -> U:
        return service_of(request.app).get(kind)

    dependency.__name__ = f"use_case_{kind.__name__}"
    return dependency
