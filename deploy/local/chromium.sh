#!/usr/bin/env bash
# The browser the console's tests drive: Debian's Chromium (Playwright is told its path; it
# never downloads a browser of its own). Installed with apt-get when missing and run as root.
set -euo pipefail
say() { printf '\033[1m[chromium]\033[0m %s\n' "$*" >&2; }
for candidate in "${QUORUM_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then exit 0; fi
done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  say "installing Debian's chromium with apt-get (the browser tests drive it)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
else
  say "the browser tests need Chromium: install it (sudo apt-get install chromium) or set QUORUM_CHROMIUM to its path, and run make test again"
  exit 1
fi
