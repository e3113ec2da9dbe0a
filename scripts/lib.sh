# shellcheck shell=bash
# Shared bootstrap helpers for scripts/dev.sh and scripts/test.sh.
# Source it (works under `set -euo pipefail`):
#
#   source scripts/lib.sh
#   ensure_node_deps; ensure_postgres; ensure_redis
#
# Progress goes to stderr. Fatal problems print one clear message and exit 1.

BANATIE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BANATIE_DEFAULT_DATABASE_URL='postgres://postgres@127.0.0.1:5432/banatie'
BANATIE_DEFAULT_REDIS_URL='redis://127.0.0.1:6379'
# Seconds to wait for a service to answer after starting it.
BANATIE_WAIT_SECONDS="${BANATIE_WAIT_SECONDS:-30}"

log() { printf '[banatie] %s\n' "$*" >&2; }
warn() { printf '[banatie] warning: %s\n' "$*" >&2; }
die() {
  printf '[banatie] error: %s\n' "$*" >&2
  exit 1
}

have() { command -v "$1" >/dev/null 2>&1; }
# with_timeout SECONDS CMD...: `timeout` when available (not on stock macOS).
with_timeout() {
  if have timeout; then timeout "$@"; else shift; "$@"; fi
}
is_root() { [ "$(id -u)" -eq 0 ]; }
is_debian_like() { [ -f /etc/debian_version ] && have apt-get; }

# ---------------------------------------------------------------- URL parsing

# url_host URL -> host name (brackets stripped from IPv6 literals)
url_host() {
  local rest="${1#*://}"
  rest="${rest%%[/?#]*}"  # authority
  rest="${rest##*@}"      # drop user:password@
  if [[ "$rest" == \[* ]]; then
    rest="${rest#\[}"
    printf '%s\n' "${rest%%\]*}"
  else
    printf '%s\n' "${rest%%:*}"
  fi
}

# url_port URL DEFAULT -> port
url_port() {
  local rest="${1#*://}" port=""
  rest="${rest%%[/?#]*}"
  rest="${rest##*@}"
  if [[ "$rest" == \[* ]]; then
    rest="${rest#*\]}"
    [[ "$rest" == :* ]] && port="${rest#:}"
  elif [[ "$rest" == *:* ]]; then
    port="${rest##*:}"
  fi
  printf '%s\n' "${port:-$2}"
}

is_local_host() {
  case "$1" in
    127.0.0.1 | localhost | ::1 | 0.0.0.0 | '') return 0 ;;
    *) return 1 ;;
  esac
}

# tcp_open HOST PORT: a bare TCP connect, for when no client tool exists.
tcp_open() {
  local host="$1" port="$2"
  # shellcheck disable=SC2016 # expanded by the inner bash
  with_timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port" 2>/dev/null
}

# ------------------------------------------------------------------- apt-get

_BANATIE_APT_UPDATED="${_BANATIE_APT_UPDATED:-}"

# apt_install PKG...: non-interactive, no recommends (docker-compose would
# otherwise pull in the whole docker.io engine). `apt-get update` once, only
# when the first attempt fails. Returns non-zero on failure.
apt_install() {
  local logf
  logf="$(mktemp -t banatie-apt.XXXXXX)"
  local -a apt=(env DEBIAN_FRONTEND=noninteractive apt-get -y -q
    -o DPkg::Lock::Timeout=120 -o Dpkg::Options::=--force-confdef
    -o Dpkg::Options::=--force-confold --no-install-recommends install)
  if "${apt[@]}" "$@" >"$logf" 2>&1; then
    rm -f "$logf"
    return 0
  fi
  if [ -z "$_BANATIE_APT_UPDATED" ]; then
    log "apt-get install $* failed; running apt-get update and retrying"
    _BANATIE_APT_UPDATED=1
    if DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=120 update >"$logf" 2>&1 &&
      "${apt[@]}" "$@" >"$logf" 2>&1; then
      rm -f "$logf"
      return 0
    fi
  fi
  warn "apt-get install $* failed:"
  tail -n 15 "$logf" >&2 || true
  rm -f "$logf"
  return 1
}

# ensure_apt_package CMD [PKG]: installs Debian package PKG (default CMD) when
# command CMD is missing. Only as root on Debian/Ubuntu; otherwise prints what
# to install and returns 1 (the caller decides whether that is fatal).
ensure_apt_package() {
  local cmd="$1" pkg="${2:-$1}"
  have "$cmd" && return 0
  if ! is_debian_like; then
    warn "'$cmd' is missing and this is not Debian/Ubuntu: install '$pkg' with your package manager"
    return 1
  fi
  if ! is_root; then
    warn "'$cmd' is missing: run 'sudo apt-get install --no-install-recommends $pkg' (or run this script as root)"
    return 1
  fi
  log "installing $pkg (for '$cmd')"
  apt_install "$pkg" || return 1
  hash -r
  have "$cmd" || {
    warn "installed $pkg but '$cmd' is still not on PATH"
    return 1
  }
}

# -------------------------------------------------------------------- Node.js

# node_major [NODE]: the major version of NODE (default: the `node` on PATH).
node_major() {
  local v
  v="$("${1:-node}" -p 'process.versions.node' 2>/dev/null)" || return 1
  printf '%s\n' "${v%%.*}"
}

# Removes what a failed `npm ci` may have left, so the next run starts clean.
_remove_node_modules() {
  rm -rf "$BANATIE_ROOT/node_modules" "$BANATIE_ROOT"/apps/*/node_modules "$BANATIE_ROOT"/packages/*/node_modules
}

# ensure_node_deps: `npm ci` when node_modules is missing or older than the
# lockfile, then puts the project's own Node 24 first on PATH. The npm
# registry carries Node itself: the root devDependency `node` installs the
# platform binary into node_modules/.bin, so every script after this, and
# every `npm run`, runs on Node 24 whatever the machine's `node` is (npm
# itself needs only a working system `node` and npm 7+ for workspaces).
ensure_node_deps() {
  have node || die "Node.js is not installed: install Node.js 22.12 or newer (https://nodejs.org; 'nvm install' reads .nvmrc), then rerun"
  have npm || die "npm is not installed (it ships with Node.js): install Node.js 22.12 or newer, then rerun"
  local system_node project_node="$BANATIE_ROOT/node_modules/.bin/node"
  system_node="$(node -p 'process.versions.node' 2>/dev/null || echo unknown)"
  local lock="$BANATIE_ROOT/package-lock.json" marker="$BANATIE_ROOT/node_modules/.package-lock.json"
  if [ ! -d "$BANATIE_ROOT/node_modules" ] || [ ! -f "$marker" ] || [ "$lock" -nt "$marker" ] || [ ! -x "$project_node" ]; then
    log "installing dependencies and the project's Node 24 (npm ci; this machine's node is v$system_node)"
    if ! (cd "$BANATIE_ROOT" && npm ci --no-audit --no-fund >&2); then
      _remove_node_modules
      local registry
      registry="$(npm config get registry 2>/dev/null || echo 'https://registry.npmjs.org/')"
      if [ "$(node_major || echo 0)" -lt 22 ]; then
        die "npm ci failed, so the project's own Node 24 could not be installed, and this machine's Node.js is v$system_node (Banatie needs 22.12 or newer). Either let npm reach its registry ($registry: check the network, proxy or npm config) and rerun, or install Node.js 22.12+ yourself ('nvm install' reads .nvmrc). node_modules was removed; nothing is half-installed."
      fi
      die "npm ci failed (see the output above; registry: $registry). node_modules was removed; rerun once the cause is fixed."
    fi
  else
    log "dependencies up to date (node_modules)"
  fi
  [ -x "$project_node" ] || die "npm ci finished but $project_node is missing: the 'node' package's install script did not run (are install scripts disabled? see 'npm config get ignore-scripts')"
  export PATH="$BANATIE_ROOT/node_modules/.bin:$PATH"
  local major
  major="$(node_major "$project_node")" || die "$project_node does not run on this machine (see 'node_modules/.bin/node -v')"
  [ "$major" -ge 22 ] || die "the project's Node is v$major, expected 24: run 'npm ci' again"
  log "running on the project's Node $("$project_node" -v) (system node: v$system_node)"
}

# --------------------------------------------------------------------- Docker

# docker_engine_up: true when a Docker engine answers and compose is usable.
docker_engine_up() {
  have docker && docker info >/dev/null 2>&1 || return 1
  docker compose version >/dev/null 2>&1 || have docker-compose
}

docker_compose() {
  if docker compose version >/dev/null 2>&1; then
    docker compose -f "$BANATIE_ROOT/docker-compose.yml" "$@"
  else
    docker-compose -f "$BANATIE_ROOT/docker-compose.yml" "$@"
  fi
}

# wait_until DESCRIPTION SECONDS CMD...: polls CMD once a second.
wait_until() {
  local what="$1" secs="$2" i
  shift 2
  log "waiting for $what (up to ${secs}s)"
  for ((i = 0; i < secs; i++)); do
    if "$@"; then
      return 0
    fi
    sleep 1
  done
  return 1
}

# ----------------------------------------------------------- service ladder

# _ensure_service key=value...: makes a service answer, the same way for every
# service: it answers? -> a remote URL: stop -> installed here but stopped:
# start it -> a Docker engine: docker compose -> Debian/Ubuntu as root:
# apt-get -> one clear message. The service declares only its specifics:
#   name=      what to call it ("PostgreSQL")
#   var=       the variable holding its URL (DATABASE_URL); default_url=, default_port=
#   compose=   its docker-compose.yml service (also the "waiting for" name)
#   apt=       its Debian package; wanted= what to install yourself ("PostgreSQL 15+")
#   logs=      where to look when it does not answer (appended to the message)
#   hooks=     prefix of its functions (each must exist; `:` when nothing to do):
#     <hooks>_answers URL           it accepts connections
#     <hooks>_on_found URL          extra checks when it was already running
#     <hooks>_installed             installed here, and this script may start it
#     <hooks>_start_installed PORT  starts that installation (dies with its own message)
#     <hooks>_start_new URL PORT    starts what apt-get just installed (dies likewise)
#     <hooks>_on_started URL        checks after this script started it (dies likewise)
#     <hooks>_on_compose            after `docker compose up`: may set url/port and
#                                   compose_note (they are the ladder's locals)
#     <hooks>_cannot_start H P      dies with a message of its own, or returns
_ensure_service() {
  local name var default_url default_port compose apt wanted logs hooks kv
  for kv in "$@"; do local "$kv"; done
  local url="${!var:-$default_url}" host port compose_note=""
  host="$(url_host "$url")"
  port="$(url_port "$url" "$default_port")"

  if "${hooks}_answers" "$url"; then
    log "$name answers at $host:$port"
    "${hooks}_on_found" "$url"
    return 0
  fi
  if ! is_local_host "$host"; then
    die "$name at $host:$port ($var) does not answer; start it or point $var at one that runs"
  fi

  # 1. Installed locally but stopped.
  if "${hooks}_installed"; then
    "${hooks}_start_installed" "$port"
    _service_started "$url"
    return 0
  fi

  # 2. A Docker engine: the compose file's service.
  if docker_engine_up; then
    log "starting $name with docker compose"
    docker_compose up -d "$compose" >&2 || die "docker compose up -d $compose failed"
    "${hooks}_on_compose"
    wait_until "$compose" $((BANATIE_WAIT_SECONDS * 2)) "${hooks}_answers" "$url" ||
      die "$name (docker compose) did not answer at $host:$port within $((BANATIE_WAIT_SECONDS * 2))s: see 'docker compose logs $compose'"
    log "$name answers at $host:$port (docker compose$compose_note)"
    return 0
  fi

  # 3. Debian/Ubuntu as root: install the package.
  if is_debian_like && is_root; then
    log "installing $name (apt-get install $apt)"
    apt_install "$apt" || die "could not install $name with apt-get"
    hash -r
    "${hooks}_start_new" "$url" "$port"
    _service_started "$url"
    return 0
  fi

  local why="no Docker engine answers ('docker info' fails)"
  have docker || why="Docker is not installed"
  "${hooks}_cannot_start" "$host" "$port"
  die "$name does not answer at $host:$port ($var) and cannot be started here: $why, and $(is_debian_like && echo 'this script is not running as root' || echo 'this is not Debian/Ubuntu') to install it. Start $wanted yourself (or a Docker engine) and rerun, or set $var."
}

# Part of _ensure_service (its locals are in scope): waits for a server this script started.
_service_started() {
  wait_until "$compose" "$BANATIE_WAIT_SECONDS" "${hooks}_answers" "$1" ||
    die "$name did not answer at $host:$port within ${BANATIE_WAIT_SECONDS}s$logs"
  "${hooks}_on_started" "$1"
  log "$name answers at $host:$port"
}

# ----------------------------------------------------------------- PostgreSQL

# pg_answers URL: the server at URL accepts connections.
pg_answers() {
  local url="$1"
  if have pg_isready; then
    pg_isready -q -t 3 -d "$url" >/dev/null 2>&1
  else
    tcp_open "$(url_host "$url")" "$(url_port "$url" 5432)"
  fi
}

# pg_login_ok URL: we can actually log in (to the `postgres` maintenance
# database, since the target database may not exist yet). True when psql is
# missing: nothing to check with, migrate will report it.
pg_login_ok() {
  have psql || return 0
  local url="$1" base query="" scheme rest admin
  base="${url%%\?*}"
  if [[ "$url" == *\?* ]]; then query="?${url#*\?}"; fi
  scheme="${base%%://*}"
  rest="${base#*://}"
  admin="$scheme://${rest%%/*}/postgres$query"
  PGCONNECT_TIMEOUT=5 psql -X -q -A -t -c 'select 1' "$admin" >/dev/null 2>&1
}

# Installed clusters, one "version name port status" per line (Debian's postgresql-common).
_pg_clusters() {
  have pg_lsclusters || return 0
  pg_lsclusters --no-header 2>/dev/null | awk '{print $1, $2, $3, $4}'
}

# Creates a cluster when none exists, then starts the one listening on PORT.
_pg_start_local_cluster() {
  local port="$1" ver name cport status found="" ports=""
  if [ -z "$(_pg_clusters)" ]; then
    # shellcheck disable=SC2012 # version directories only
    ver="$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1)"
    [ -n "$ver" ] || {
      warn "no PostgreSQL server binaries under /usr/lib/postgresql"
      return 1
    }
    log "creating PostgreSQL $ver cluster 'main' on port $port"
    pg_createcluster --port "$port" "$ver" main >&2 || return 1
  fi
  while read -r ver name cport status; do
    ports="$ports $cport"
    if [ "$cport" = "$port" ]; then
      found="$ver $name $status"
      break
    fi
  done < <(_pg_clusters)
  if [ -z "$found" ]; then
    warn "the local PostgreSQL clusters listen on port(s)$ports, but DATABASE_URL wants port $port"
    return 1
  fi
  read -r ver name status <<<"$found"
  if [ "$status" != "online" ]; then
    log "starting PostgreSQL cluster $ver/$name"
    pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start >&2 ||
      pg_ctlcluster "$ver" "$name" start >&2 || return 1
  fi
  BANATIE_PG_CLUSTER="$ver $name"
}

# Lets local TCP logins in without a password (only used on a server this
# script installed or started itself, and only when a login fails).
_pg_allow_local_trust() {
  local ver name hba
  read -r ver name <<<"${BANATIE_PG_CLUSTER:-}"
  [ -n "${ver:-}" ] || return 1
  hba="/etc/postgresql/$ver/$name/pg_hba.conf"
  [ -w "$hba" ] || return 1
  if ! grep -q 'banatie: local trust' "$hba"; then
    log "allowing password-less local TCP logins in $hba"
    {
      printf '# banatie: local trust (added by scripts/lib.sh for development)\n'
      printf 'host    all    all    127.0.0.1/32    trust\n'
      printf 'host    all    all    ::1/128         trust\n'
      cat "$hba"
    } >"$hba.banatie" && cat "$hba.banatie" >"$hba" && rm -f "$hba.banatie"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" reload >&2 2>/dev/null ||
    pg_ctlcluster "$ver" "$name" reload >&2
}

# PostgreSQL's specifics for _ensure_service.
_pg_answers() { pg_answers "$1"; }
_pg_on_found() { :; }
_pg_installed() { [ -n "$(_pg_clusters)" ] && is_root; }
_pg_start_installed() {
  _pg_start_local_cluster "$1" || die "could not start the local PostgreSQL cluster (see /var/log/postgresql/)"
}
_pg_start_new() {
  _pg_start_local_cluster "$2" || die "could not create/start a PostgreSQL cluster (see /var/log/postgresql/)"
}
_pg_on_started() {
  pg_login_ok "$1" || _pg_allow_local_trust || true
  pg_login_ok "$1" || die "PostgreSQL runs at $host:$port but refuses the login in DATABASE_URL"
}
_pg_on_compose() {
  if [ -z "${DATABASE_URL:-}" ]; then
    # The container requires the password from docker-compose.yml.
    export DATABASE_URL="postgres://postgres:postgres@127.0.0.1:${POSTGRES_HOST_PORT:-5432}/banatie"
    url="$DATABASE_URL"
    port="$(url_port "$url" 5432)"
  fi
  compose_note="; DATABASE_URL=$DATABASE_URL"
}
_pg_cannot_start() {
  if [ -n "$(_pg_clusters)" ]; then
    die "PostgreSQL is installed but not running at $1:$2, and this script is not root: start it (e.g. 'sudo pg_ctlcluster <version> main start') and rerun"
  fi
}

ensure_postgres() {
  _ensure_service name=PostgreSQL var=DATABASE_URL default_url="$BANATIE_DEFAULT_DATABASE_URL" default_port=5432 \
    compose=postgres apt=postgresql wanted='PostgreSQL 15+' logs=' (see /var/log/postgresql/)' hooks=_pg
}

# ---------------------------------------------------------------------- Redis

# redis_answers URL: the server at URL answers PING (NOAUTH counts: it runs).
redis_answers() {
  local url="$1" out
  if have redis-cli; then
    out="$(with_timeout 5 redis-cli -u "$url" ping 2>/dev/null)" || true
    [[ "$out" == PONG* || "$out" == *NOAUTH* ]]
  else
    local host port
    host="$(url_host "$url")"
    port="$(url_port "$url" 6379)"
    # shellcheck disable=SC2016 # expanded by the inner bash
    out="$(with_timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf "PING\r\n" >&3 && IFS= read -r -t 2 line <&3 && printf "%s" "$line"' "$host" "$port" 2>/dev/null)" || true
    [[ "$out" == +PONG* || "$out" == -NOAUTH* ]]
  fi
}

_redis_check_policy() {
  have redis-cli || return 0
  local policy
  policy="$(with_timeout 5 redis-cli -u "$1" config get maxmemory-policy 2>/dev/null | tail -n 1)" || return 0
  if [ -n "$policy" ] && [ "$policy" != "noeviction" ] && [[ "$policy" != *ERR* ]]; then
    warn "Redis maxmemory-policy is '$policy'; BullMQ needs 'noeviction' (redis-cli config set maxmemory-policy noeviction)"
  fi
}

_redis_start_local() {
  local port="$1" dir logfile
  if is_root; then
    dir=/var/lib/redis
    logfile=/var/log/redis/ci.log
  else
    dir="$BANATIE_ROOT/data/redis"
    logfile="$BANATIE_ROOT/data/redis/redis.log"
  fi
  mkdir -p "$dir" "$(dirname "$logfile")"
  log "starting redis-server on 127.0.0.1:$port"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$port" --save "" --appendonly no \
    --dir "$dir" --logfile "$logfile" >&2
}

# Redis's specifics for _ensure_service.
_redis_answers() { redis_answers "$1"; }
_redis_on_found() { _redis_check_policy "$1"; }
_redis_installed() { have redis-server; }
_redis_start_installed() {
  _redis_start_local "$1" || die "redis-server failed to start"
}
_redis_start_new() {
  # The package may have started its own server already.
  redis_answers "$1" || _redis_start_installed "$2"
}
_redis_on_started() { :; }
_redis_on_compose() {
  if [ -z "${REDIS_URL:-}" ] && [ -n "${REDIS_HOST_PORT:-}" ]; then
    export REDIS_URL="redis://127.0.0.1:$REDIS_HOST_PORT"
    url="$REDIS_URL"
    port="$REDIS_HOST_PORT"
  fi
}
_redis_cannot_start() { :; }

ensure_redis() {
  _ensure_service name=Redis var=REDIS_URL default_url="$BANATIE_DEFAULT_REDIS_URL" default_port=6379 \
    compose=redis apt=redis-server wanted='Redis 7' logs='' hooks=_redis
}

# ------------------------------------------------------------- Redis Cluster

# Ports of the suite's own 3-master Redis Cluster (SPEC §14), away from 6379.
BANATIE_REDIS_CLUSTER_PORTS="${BANATIE_REDIS_CLUSTER_PORTS:-17101 17102 17103}"
# Set by ensure_redis_cluster to the data directory of a cluster it started (empty when it
# reused one); stop_redis_cluster removes only that one. A caller in another process (the
# bench, bench/src/redis-cluster.ts) reads it after ensure_redis_cluster and passes it back.
BANATIE_REDIS_CLUSTER_STARTED_DIR=""

# redis_cluster_nodes: the cluster's seed nodes as REDIS_CLUSTER_NODES takes them (host:port,…).
redis_cluster_nodes() {
  local port nodes=""
  for port in $BANATIE_REDIS_CLUSTER_PORTS; do nodes="${nodes:+$nodes,}127.0.0.1:$port"; done
  printf '%s\n' "$nodes"
}

# redis_cluster_running: true when every node answers and the cluster covers all slots.
redis_cluster_running() {
  have redis-cli || return 1
  local port
  for port in $BANATIE_REDIS_CLUSTER_PORTS; do
    with_timeout 3 redis-cli -h 127.0.0.1 -p "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
  done
}

# ensure_redis_cluster: a 3-master Redis Cluster from Debian's redis-server on
# BANATIE_REDIS_CLUSTER_PORTS (data in a temporary directory), reused when one
# already runs there; exports TEST_REDIS_CLUSTER_NODES for the cluster tests.
ensure_redis_cluster() {
  export TEST_REDIS_CLUSTER_NODES
  TEST_REDIS_CLUSTER_NODES="$(redis_cluster_nodes)"
  ensure_apt_package redis-server redis-server || die "redis-server is needed for the Redis Cluster tests"
  ensure_apt_package redis-cli redis-tools || die "redis-cli is needed for the Redis Cluster tests"
  if redis_cluster_running; then
    log "reusing the Redis Cluster on $TEST_REDIS_CLUSTER_NODES"
    return 0
  fi
  local dir port
  dir="$(mktemp -d -t banatie-redis-cluster.XXXXXX)"
  BANATIE_REDIS_CLUSTER_STARTED_DIR="$dir"
  log "starting a 3-master Redis Cluster on $TEST_REDIS_CLUSTER_NODES (data in $dir)"
  for port in $BANATIE_REDIS_CLUSTER_PORTS; do
    redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
      --cluster-enabled yes --cluster-config-file "nodes-$port.conf" --cluster-node-timeout 5000 \
      --maxmemory-policy noeviction --dir "$dir" --logfile "$dir/redis-$port.log" --pidfile "$dir/redis-$port.pid" >&2 ||
      die "redis-server failed to start on port $port (see $dir/redis-$port.log)"
  done
  for port in $BANATIE_REDIS_CLUSTER_PORTS; do
    wait_until "redis-server on $port" "$BANATIE_WAIT_SECONDS" redis_answers "redis://127.0.0.1:$port" || die "redis-server on port $port does not answer"
  done
  # shellcheck disable=SC2046 # one argument per node
  redis-cli --cluster create $(tr ',' ' ' <<<"$TEST_REDIS_CLUSTER_NODES") --cluster-replicas 0 --cluster-yes >/dev/null ||
    die "redis-cli --cluster create failed"
  wait_until "the Redis Cluster" "$BANATIE_WAIT_SECONDS" redis_cluster_running || die "the Redis Cluster on $TEST_REDIS_CLUSTER_NODES did not reach cluster_state:ok"
}

# stop_redis_cluster: stops the cluster ensure_redis_cluster started (never a reused one);
# from another shell, pass the BANATIE_REDIS_CLUSTER_STARTED_DIR it left.
stop_redis_cluster() {
  local dir="${1:-$BANATIE_REDIS_CLUSTER_STARTED_DIR}" port
  [ -n "$dir" ] || return 0
  for port in $BANATIE_REDIS_CLUSTER_PORTS; do
    redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || true
  done
  rm -rf "$dir"
  BANATIE_REDIS_CLUSTER_STARTED_DIR=""
}
