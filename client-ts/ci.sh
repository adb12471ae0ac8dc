#!/usr/bin/env bash
# The TypeScript SDK's checks and tests, as CI runs them (a step of .ci/test): npm ci, typecheck,
# build with the bundle budget and the stale-demo-bundle check, then vitest: golden vectors,
# malformed frames, the session, Node against a real server, and headless Chromium end to end.
set -euo pipefail
cd "$(dirname "$0")"

step() { printf '\n==> client-ts: %s\n' "$*"; }

step "chromium"
if [ ! -x "${CHROMIUM_BIN:-/usr/bin/chromium}" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq chromium >/dev/null 2>&1 || {
            apt-get update -qq
            apt-get install -y -qq chromium
        }
    else
        echo "the browser test needs Chromium at /usr/bin/chromium: install Debian's package (apt-get install -y chromium)" >&2
        exit 1
    fi
fi
"${CHROMIUM_BIN:-/usr/bin/chromium}" --version 2>/dev/null | tail -1

step "npm ci"
npm ci --no-audit --no-fund --loglevel=error

step "server binary for the tests"
(cd .. && cargo build --bin tickwire --locked --quiet)

step "typecheck"
npx tsc -p .

step "build, bundle budget, stale demo bundle"
node scripts/build.mjs --check
npx tsc -p tsconfig.build.json

step "vitest"
npx vitest run
