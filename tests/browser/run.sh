#!/usr/bin/env bash
# Start the livedrop binary ($LIVEDROP_BIN) in a fresh directory in embedded mode (demo
# seeded, plus the admin admin@browser.test), wait until it is ready, run the browser
# tests against it, stop it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${LIVEDROP_BIN:?set LIVEDROP_BIN to the built livedrop binary}"
work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
# The admin account the admin console test signs in with (same directory: ./data/).
(cd "$work" && printf '%s' 'browser-admin-pw-1' | PUBLIC_URL="http://127.0.0.1:$port" RATE_LIMITS=off "$bin" admin create --email admin@browser.test --password-stdin) \
  > "$work/admin.log" 2>&1 || { cat "$work/admin.log"; exit 1; }
(cd "$work" && BIND="127.0.0.1:$port" PUBLIC_URL="http://127.0.0.1:$port" RATE_LIMITS=off exec "$bin" > "$work/server.log" 2>&1) &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 0.1
done
curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null || { echo "server not ready"; cat "$work/server.log"; exit 1; }
# OUTBOX_DIR: where the server writes mail (embedded mode), for tests that follow a link.
BASE_URL="http://127.0.0.1:$port" OUTBOX_DIR="$work/data/outbox" node "$here/run.mjs" "$@"
