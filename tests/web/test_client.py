"""The console's typed API client is generated from the services' OpenAPI documents: the
committed documents are the services' own, and the committed TypeScript is what
openapi-typescript makes of them (``make web-client`` regenerates both). The console's own
unit tests (the keymap's collisions) run with them."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from deploy.local import openapi
from tests.processes import REPO

WEB = REPO / "web"
NODE_ENV = {**os.environ, "PATH": f"{REPO / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"}


@pytest.mark.parametrize("service", openapi.SERVICES)
def test_the_committed_openapi_document_is_the_services_own(service: str) -> None:
    committed = json.loads((WEB / "openapi" / f"{service}.json").read_text())
    assert committed == json.loads(openapi.rendered(service)), "run `make web-client`"


@pytest.mark.parametrize("service", openapi.SERVICES)
def test_the_typescript_client_is_generated_from_the_committed_document(
    service: str, tmp_path: Path
) -> None:
    out = tmp_path / f"{service}.ts"
    subprocess.run(
        ["npx", "--no-install", "openapi-typescript", f"openapi/{service}.json", "-o", str(out)],
        cwd=WEB,
        env=NODE_ENV,
        check=True,
        capture_output=True,
    )
    committed = (WEB / "src" / "api" / f"{service}.ts").read_text()
    assert out.read_text() == committed, "run `make web-client`"


def test_the_consoles_unit_tests_pass() -> None:
    run = subprocess.run(
        ["npx", "--no-install", "vitest", "run"],
        cwd=WEB,
        env=NODE_ENV,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "passed" in run.stdout
