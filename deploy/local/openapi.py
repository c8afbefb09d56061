"""``python -m deploy.local.openapi [folder]``: each service's OpenAPI document as JSON, the
input of the console's generated TypeScript client (``make web-client``; a test fails when
they drift)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from deploy.local.infra import REPO

#: the services the console calls, by the name of their path under /api/
SERVICES = ("assignment", "metrics", "taxonomy", "ingest")
FOLDER = REPO / "web" / "openapi"


def document(service: str) -> dict[str, Any]:
    """The OpenAPI document ``service``'s app serves (built without starting it)."""
    module = __import__(f"services.{service}.app", fromlist=["create_app"])
    settings_module = __import__(f"services.{service}.settings", fromlist=["x"])
    settings_class = next(
        v
        for k, v in vars(settings_module).items()
        if k.endswith("Settings") and k != "ServiceSettings" and isinstance(v, type)
    )
    app = module.create_app(settings_class(environment="development"))
    return app.openapi()  # type: ignore[no-any-return]


def rendered(service: str) -> str:
    return json.dumps(document(service), indent=1, sort_keys=True) + "\n"


def main() -> int:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for service in SERVICES:
        (folder / f"{service}.json").write_text(rendered(service))
        print(f"wrote {folder / f'{service}.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
