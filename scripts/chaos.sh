#!/usr/bin/env bash
# Fault scenarios against real processes (the compiled API and worker, the fake
# Gemini server, PostgreSQL, Redis): an operator's check that a build survives
#   - SIGKILL of the only worker mid-generation (finished once by the next worker,
#     one stored object, one success webhook),
#   - SIGKILL with a 5 s lock: the job taken over by a running worker (takeover
#     time printed), and the same job killed twice still succeeding,
#   - Redis stopped: every request type answers 503 within 3 s, and requests
#     already waiting still end,
#   - SIGTERM mid-generation (job finished, nothing new taken, exit 0),
#   - Redis stopped and restarted empty (503 + Retry-After meanwhile, the sweeper
#     restores the lost jobs, everything completes),
#   - PostgreSQL connections dropped with pg_terminate_backend under load.
#
#   scripts/chaos.sh                          # all scenarios
#   scripts/chaos.sh e2e/chaos/postgres.test.ts   # extra args go to `vitest run`
#
# Uses TEST_PG_URL (server URL without a database name, default
# postgres://postgres@127.0.0.1:5432; each file creates and drops its own
# database) and TEST_REDIS_URL (default redis://127.0.0.1:6379; keys are
# prefixed per run). The Redis-outage scenario starts its own redis-server on a
# free port, so `redis-server` must be on PATH.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

ensure_node_deps
ensure_postgres
ensure_redis
have redis-server || die "redis-server is not on PATH (the Redis-outage scenario starts its own)"

log "building (npm run build)"
npm run --silent build

args=("$@")
[ ${#args[@]} -gt 0 ] || args=(e2e/chaos)
log "running chaos scenarios (vitest run ${args[*]})"
exec npx --no-install vitest run "${args[@]}"
