"""Who is calling: a subject of a tenant, in one role."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    client = "client"
    expert = "expert"
    ops = "ops"
    admin = "admin"


@dataclass(frozen=True)
class Principal:
    subject: str
    tenant: str
    role: Role

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.ops, Role.admin)
