"""``quorum-token``: mint a development bearer token (HS256) with the ``QUORUM_*`` settings."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from shared.auth.principal import Role
from shared.auth.tokens import mint_token
from shared.settings import Environment, ServiceSettings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="quorum-token", description="Mint a development bearer token (HS256)."
    )
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--role", required=True, choices=[r.value for r in Role])
    parser.add_argument("--sub", default="dev-user", help="subject (user or system id)")
    parser.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    parser.add_argument("--json", action="store_true", help="print the claims too")
    args = parser.parse_args(argv)
    # a developer's tool: development unless the environment says otherwise, never production
    # (production images do not ship it: deploy/Dockerfile)
    environment = os.environ.get("QUORUM_ENVIRONMENT", Environment.development.value)
    if environment.lower() == Environment.production.value:
        print("refusing to mint tokens in production; use your identity provider", file=sys.stderr)
        return 2
    try:
        settings = ServiceSettings(environment=environment)
    except ValidationError as exc:
        print(f"quorum-token: the QUORUM_* settings are invalid: {exc}", file=sys.stderr)
        return 2
    token = mint_token(
        subject=args.sub,
        tenant=args.tenant,
        role=args.role,
        secret=settings.jwt_secret.get_secret_value(),
        ttl_seconds=args.ttl,
    )
    if args.json:
        print(json.dumps({"token": token, "tenant": args.tenant, "role": args.role}))
    else:
        print(token)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
