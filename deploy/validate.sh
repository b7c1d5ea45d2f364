#!/usr/bin/env bash
# Check the cluster files as far as this machine allows (it has the docker client but no
# engine): the compose file's syntax and interpolation, and nginx's configuration syntax.
# A check that cannot run for want of its tool fails the script (exit 1): `.ci/run`
# installs them (nginx, PyYAML; the compose plugin is used when present).
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
if docker compose version >/dev/null 2>&1; then
  if JWT_SECRET=x docker compose -f docker-compose.yml config -q; then
    echo "compose: docker-compose.yml is valid"
  else
    echo "compose: INVALID"; status=1
  fi
elif python3 -c 'import yaml' 2>/dev/null; then
  # No compose plugin: parse the YAML and check the structure compose needs.
  if python3 - <<'PY'
import yaml, sys
doc = yaml.safe_load(open("docker-compose.yml"))
services = doc["services"]
need = {"postgres", "redis", "mailpit", "node1", "node2", "lb"}
missing = need - set(services)
assert not missing, f"missing services: {missing}"
for n in ("node1", "node2"):
    s = services[n]
    assert s["build"] == ".", n
    env = s["environment"]
    for k in ("DATABASE_URL", "REDIS_URL", "SMTP_URL", "JWT_SECRET", "PUBLIC_URL", "PAYMENT_PROVIDER"):
        assert k in env, f"{n} lacks {k}"
    for dep in s["depends_on"]:
        assert dep in services, f"{n} depends on unknown {dep}"
assert "8080:8080" in services["lb"]["ports"]
print("compose: docker-compose.yml parses and has every service and setting (checked without the compose plugin)")
PY
  then :; else echo "compose: INVALID"; status=1; fi
else
  echo "compose: NOT CHECKED: neither the docker compose plugin nor PyYAML (python3-yaml) is installed"; status=1
fi
if command -v nginx >/dev/null 2>&1; then
  tmp=$(mktemp -d)
  # The upstream host names only resolve inside compose's network: check a copy pointing
  # at localhost, with everything else unchanged.
  sed 's/node[12]:8080/127.0.0.1:8080/' deploy/nginx.conf > "$tmp/livedrop.conf"
  printf 'pid %s/nginx.pid;\nerror_log %s/error.log;\nevents {}\nhttp {\n  access_log off;\n  include %s/livedrop.conf;\n}\n' "$tmp" "$tmp" "$tmp" > "$tmp/nginx.conf"
  if nginx -t -q -c "$tmp/nginx.conf" -p "$tmp" 2>"$tmp/err"; then
    echo "nginx: deploy/nginx.conf is valid"
  else
    echo "nginx: INVALID"; cat "$tmp/err"; status=1
  fi
else
  echo "nginx: NOT CHECKED: nginx is not installed"; status=1
fi
echo "not checked here: building the image and running the stack (no Docker engine)"
exit $status
