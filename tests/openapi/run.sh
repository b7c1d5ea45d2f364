#!/usr/bin/env bash
# Check that /api/openapi.json tells the truth: start the livedrop binary ($LIVEDROP_BIN)
# in a fresh directory (embedded mode, demo seeded, rate limits off, a metrics token so
# that /metrics is served and documented), then run schemathesis with every check, once
# anonymous and once as a creator. Any failure fails the script.
#
# Env: LIVEDROP_BIN (required); ST_VENV (default ~/.cache/livedrop/schemathesis-4.32.5);
# ST_MAX_EXAMPLES (default 25) examples per operation and phase; ST_SEED, a seed for
# schemathesis's generator (CI passes one, so that a landing is judged on the same cases;
# without it each run explores new ones).
set -euo pipefail
bin="${LIVEDROP_BIN:?set LIVEDROP_BIN to the built livedrop binary}"
venv="${ST_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/livedrop/schemathesis-4.32.5}"
max_examples="${ST_MAX_EXAMPLES:-25}"
seed_args=()
if [ -n "${ST_SEED:-}" ]; then seed_args=(--seed "$ST_SEED"); fi

# schemathesis, pinned, in its own venv (idempotent: reused when already there).
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q '4\.32\.5'; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check 'schemathesis==4.32.5'
fi

work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
base="http://127.0.0.1:$port"
(cd "$work" && DATA_DIR="$work/data" BIND="127.0.0.1:$port" RATE_LIMITS=off SEED_DEMO=true LOG_FORMAT=json \
  METRICS_TOKEN="openapi-check-metrics-token" \
  exec "$bin" serve --migrate > "$work/server.log" 2>&1) &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -fsS "$base/readyz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log"; exit 1; }
  sleep 0.1
done
curl -fsS "$base/readyz" >/dev/null || { echo "server not ready"; cat "$work/server.log"; exit 1; }

# The demo creator (verified, with a seeded storefront, product, drop and raffle).
token="$(curl -fsS -X POST "$base/api/auth/login" -H 'content-type: application/json' \
  -d '{"email":"creator@demo.livedrop.local","password":"demo-password-1"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"

st() {
  # From the scratch directory: schemathesis keeps a cache in `.schemathesis/` there.
  (cd "$work" && "$venv/bin/schemathesis" run "$base/api/openapi.json" --checks all \
    --max-examples "$max_examples" --no-color ${seed_args[@]+"${seed_args[@]}"} "$@")
}
status=0
echo "== schemathesis, anonymous"
st || status=1
echo "== schemathesis, as a creator"
st -H "Authorization: Bearer $token" || status=1
if grep -Eq '"status":5[0-9]{2}' "$work/server.log"; then
  echo "the server answered 5xx:"; grep -E '"status":5[0-9]{2}' "$work/server.log" | head -20
  status=1
fi
exit "$status"
