#!/usr/bin/env bash
# Install everything Quorum needs on a fresh machine, from the project's own files:
# uv (pinned), the locked Python packages into .venv, and the system tools the local
# servers need (Java 17 and Maven for Kafka; see docs/local-infrastructure.md).
set -euo pipefail
cd "$(dirname "$0")/../.."

UV_VERSION="${UV_VERSION:-0.13.8}"
export UV_PYTHON_DOWNLOADS=never

say() { printf '\033[1m[bootstrap]\033[0m %s\n' "$*" >&2; }

need_apt=()
command -v javac >/dev/null 2>&1 || need_apt+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || need_apt+=(maven)
if ((${#need_apt[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${need_apt[*]} with apt-get"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    say "missing ${need_apt[*]}: install them (e.g. sudo apt-get install ${need_apt[*]}) and run make again"
    exit 1
  fi
fi

PYTHON="$(command -v python3.11 || command -v python3)"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  say "Python 3.11+ is required; found $("$PYTHON" --version). Install python3.11 and run make again."
  exit 1
fi

UV="$(command -v uv || true)"
if [ -z "$UV" ] || [ "$("$UV" --version | awk '{print $2}')" != "$UV_VERSION" ]; then
  if [ ! -x .local/tools/bin/uv ] || [ "$(.local/tools/bin/uv --version | awk '{print $2}')" != "$UV_VERSION" ]; then
    say "installing uv $UV_VERSION into .local/tools"
    "$PYTHON" -m venv .local/tools
    .local/tools/bin/pip install -q --disable-pip-version-check "uv==$UV_VERSION"
  fi
  UV=.local/tools/bin/uv
fi

say "syncing .venv from uv.lock"
"$UV" sync --frozen --python "$PYTHON" --quiet
say "ready"
