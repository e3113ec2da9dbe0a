#!/usr/bin/env bash
# Runs Banatie locally from a fresh clone: dependencies, PostgreSQL, Redis,
# build, migrations, a demo API key, then one API and one worker in the
# foreground until Ctrl-C.
#
# Defaults need no cloud account: filesystem storage in ./data/storage and the
# built-in `local` image provider. GEMINI_API_KEY=... switches to Gemini,
# S3_ENDPOINT=... (with S3_ACCESS_KEY/S3_SECRET_KEY) to S3/MinIO.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

ensure_node_deps
ensure_postgres
ensure_redis

log "building (npm run build)"
npm run --silent build

log "migrating (creates the database if missing)"
npm run --silent cli -- migrate >&2

# An admin key: the owner's own key, which also sees the signing secrets and changes settings (SPEC §16).
log "creating a demo API key (admin) for demo/playground"
key_json="$(npm run --silent cli -- key create demo/playground --name dev --role admin --json)" ||
  die "could not create the demo API key"
KEY="$(BANATIE_KEY_JSON="$key_json" node -e '
  const text = process.env.BANATIE_KEY_JSON.trim();
  const line = text.split("\n").reverse().find((l) => l.trim().startsWith("{")) ?? text;
  const key = JSON.parse(line).key;
  if (typeof key !== "string" || !key) throw new Error("no key in: " + text);
  process.stdout.write(key);
')" || die "could not read the key from the CLI output: $key_json"

port="${PORT:-3000}"
base="${PUBLIC_BASE_URL:-http://localhost:$port}"
provider="${IMAGE_PROVIDER:-$([ -n "${GEMINI_API_KEY:-}" ] && echo gemini || echo local)}"
storage="${STORAGE_DRIVER:-$([ -n "${S3_ENDPOINT:-}" ] && echo s3 || echo "fs (${STORAGE_DIR:-./data/storage})")}"

cat <<INFO

  Banatie is starting on $base   (API docs: $base/docs)
  image provider: $provider   storage: $storage

  API key (project demo/playground; shown once, a new one each run):
    $KEY

  Try it:
    curl -s -X POST http://localhost:$port/api/v1/generations -H "X-API-Key: $KEY" -H "Content-Type: application/json" -H "Prefer: wait=30" -d '{"prompt":"a lighthouse at dawn","aspectRatio":"16:9"}'

  Ctrl-C stops the API and the worker.

INFO

pids=()
names=()

# Prefixes every line; ignores SIGINT so the last log lines of a stopping
# process still get through (it ends when the process closes its output).
prefix() {
  trap '' INT
  local line
  while IFS= read -r line || [ -n "$line" ]; do
    printf '%-8s %s\n' "[$1]" "$line"
  done
}

start() {
  local name="$1"
  shift
  "$@" > >(prefix "$name") 2>&1 &
  pids+=("$!")
  names+=("$name")
}

stopping=""
cleanup() {
  [ -n "$stopping" ] && return
  stopping=1
  trap - INT TERM
  local pid i
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  # Workers finish the jobs in flight before exiting; give them a while.
  for ((i = 0; i < 40; i++)); do
    local alive=""
    for pid in "${pids[@]}"; do
      if kill -0 "$pid" 2>/dev/null; then alive=1; fi
    done
    [ -z "$alive" ] && break
    sleep 0.5
  done
  for pid in "${pids[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap 'log "stopping"; cleanup; exit 130' INT
trap 'log "stopping"; cleanup; exit 143' TERM
trap 'cleanup' EXIT

# The npm scripts carry the processes' Node flags (npm passes signals on).
start api npm run --silent start:api
start worker npm run --silent start:worker

# Until Ctrl-C, or until either process dies.
while :; do
  for i in "${!pids[@]}"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      status=0
      wait "${pids[$i]}" || status=$?
      log "${names[$i]} exited (status $status); stopping the others"
      cleanup
      exit $((status == 0 ? 1 : status))
    fi
  done
  sleep 1
done
