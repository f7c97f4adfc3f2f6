#!/usr/bin/env bash
# Gatehouse dev/CI Keycloak: fetch, build, start, stop and check a real Keycloak server.
#
#   keycloak/keycloak.sh fetch    download + unzip + `kc.sh build` once (cached outside the repo)
#   keycloak/keycloak.sh start    fetch if needed, start in the background, wait until healthy,
#                                 print KEYCLOAK_URL=http://127.0.0.1:<port> on stdout
#   keycloak/keycloak.sh stop     stop the server started by `start` (pid file) and wait for exit
#   keycloak/keycloak.sh status   exit 0 and print KEYCLOAK_URL=... when healthy, exit 1 otherwise
#   keycloak/keycloak.sh env      print the variables Gatehouse needs to talk to this server
#   keycloak/keycloak.sh logs     tail the server log
#
# Environment (all optional):
#   GATEHOUSE_CACHE          cache root (default $HOME/.cache/gatehouse); Keycloak lives in
#                            $GATEHOUSE_CACHE/keycloak-<version>/ (dist/, keycloak.log, keycloak.pid)
#   KEYCLOAK_VERSION         override the pinned version (default below)
#   KEYCLOAK_PORT            HTTP port, bound to 127.0.0.1 (default 8180)
#   KEYCLOAK_MGMT_PORT       management port serving /health/* (default 9180)
#   KEYCLOAK_START_TIMEOUT   seconds to wait for /health/ready (default 300)
#   KEYCLOAK_KEEP_DATA=1     keep the dev-file (H2) database between starts; by default every
#                            `start` wipes it so the realm is imported from scratch
#   KEYCLOAK_SMTP_HOST       SMTP host put into the realm at import time (default 127.0.0.1)
#   KEYCLOAK_SMTP_PORT       SMTP port put into the realm at import time (default 1025)
#   KEYCLOAK_INSTANCE        run a separate, named instance (own copy, data, pid, log and lock under
#                            $GATEHOUSE_CACHE/keycloak-<version>/instances/<name>/); give it its own
#                            KEYCLOAK_PORT and KEYCLOAK_MGMT_PORT
#   KEYCLOAK_HOSTNAME        the public URL Keycloak announces (its issuer; default the KEYCLOAK_URL below)
#   KEYCLOAK_HOSTNAME_BACKCHANNEL_DYNAMIC=true   back-channel URLs (token, JWKS, ...) follow the
#                            request, as docker-compose.yml runs it (default false)
#   KEYCLOAK_HTTPS_PORT      also serve https on this port (127.0.0.1), with the certificate and key in
#   KEYCLOAK_HTTPS_CERTIFICATE_FILE / KEYCLOAK_HTTPS_CERTIFICATE_KEY_FILE (PEM; all three together)
#   KEYCLOAK_HEAP            JVM heap options (default "-Xms256m -Xmx768m")
#   KEYCLOAK_JAVA_HOME       JDK to run Keycloak with (default: $JAVA_HOME, else `java` on PATH)
#   KC_BOOTSTRAP_ADMIN_USERNAME / KC_BOOTSTRAP_ADMIN_PASSWORD   master-realm admin (default admin/admin)
set -euo pipefail

# Pinned version: the newest 26.x on Maven Central when this was written. It runs on the
# machine's default Java 17 (Keycloak 26.x supports OpenJDK 17, 21 and 25), so no second JDK
# is needed; set KEYCLOAK_JAVA_HOME to use another one.
KC_PINNED_VERSION="26.7.3"
KC_VERSION="${KEYCLOAK_VERSION:-$KC_PINNED_VERSION}"

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REALM_FILE="$SCRIPT_DIR/realm-gatehouse.json"
REALM_NAME="gatehouse"

CACHE_ROOT="${GATEHOUSE_CACHE:-$HOME/.cache/gatehouse}"
KC_BASE="$CACHE_ROOT/keycloak-$KC_VERSION"
KC_HOME="$KC_BASE/dist"
KC_ZIP_DIR="$KC_BASE/download"
KC_ZIP="$KC_ZIP_DIR/keycloak-quarkus-dist-$KC_VERSION.zip"
BUILD_MARKER="$KC_HOME/.gatehouse-build"
FETCH_LOCK_FILE="$KC_BASE/.lock"

# A named instance (KEYCLOAK_INSTANCE=outage) runs a copy of the built distribution with its own
# data, pid, log and lock under instances/<name>/, so that it can be started and stopped (on its
# own ports) without touching the default instance other test suites use.
KEYCLOAK_INSTANCE="${KEYCLOAK_INSTANCE:-}"
if [[ -n "$KEYCLOAK_INSTANCE" ]]; then
  [[ "$KEYCLOAK_INSTANCE" =~ ^[a-z0-9][a-z0-9-]*$ ]] || {
    echo "keycloak.sh: KEYCLOAK_INSTANCE must be lower-case letters, digits and dashes" >&2
    exit 2
  }
  RUN_BASE="$KC_BASE/instances/$KEYCLOAK_INSTANCE"
  RUN_HOME="$RUN_BASE/dist"
else
  RUN_BASE="$KC_BASE"
  RUN_HOME="$KC_HOME"
fi
PID_FILE="$RUN_BASE/keycloak.pid"
LOG_FILE="$RUN_BASE/keycloak.log"
LOCK_FILE="$RUN_BASE/.lock"

KEYCLOAK_PORT="${KEYCLOAK_PORT:-8180}"
KEYCLOAK_MGMT_PORT="${KEYCLOAK_MGMT_PORT:-9180}"
KEYCLOAK_START_TIMEOUT="${KEYCLOAK_START_TIMEOUT:-300}"
KEYCLOAK_HEAP="${KEYCLOAK_HEAP:--Xms256m -Xmx768m}"
KEYCLOAK_URL="http://127.0.0.1:$KEYCLOAK_PORT"
HEALTH_URL="http://127.0.0.1:$KEYCLOAK_MGMT_PORT/health/ready"
REALM_URL="$KEYCLOAK_URL/realms/$REALM_NAME/.well-known/openid-configuration"

# Build-time options (`kc.sh build`). Changing this list triggers a rebuild on the next fetch.
#   dev-file     embedded H2 database in dist/data/h2 (no external DB needed; wiped per start)
#   health       /health/ready etc. on the management port
BUILD_OPTS=(--db=dev-file --health-enabled=true)

log() { echo "keycloak.sh: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

with_lock() {
  # Serialise fetch/start/stop between concurrent callers (e.g. parallel test jobs).
  mkdir -p "$KC_BASE" "$RUN_BASE"
  exec 9>"$LOCK_FILE"
  if command -v flock >/dev/null 2>&1; then
    flock -w 900 9 || die "could not take lock $LOCK_FILE"
  fi
}

java_major() { # $1 = java binary; prints the major version (17, 21, ...)
  "$1" -XshowSettings:properties -version 2>&1 |
    awk -F'= ' '/java.specification.version/ {print $2; exit}' | cut -d. -f1
}

select_java() {
  local jh="${KEYCLOAK_JAVA_HOME:-${JAVA_HOME:-}}" bin major
  if [[ -n "$jh" ]]; then
    bin="$jh/bin/java"
  else
    bin="$(command -v java || true)"
  fi
  [[ -n "$bin" && -x "$bin" ]] || die "no java found (install a JDK >= 17 or set KEYCLOAK_JAVA_HOME)"
  major="$(java_major "$bin")"
  if [[ -z "$major" || "$major" -lt 17 ]]; then
    die "$bin is Java ${major:-?}; Keycloak $KC_VERSION needs Java 17, 21 or 25 (set KEYCLOAK_JAVA_HOME)"
  fi
  if [[ -n "$jh" ]]; then export JAVA_HOME="$jh"; else unset JAVA_HOME; fi
  export JAVA="$bin"
}

http_ok() { curl -fsS -o /dev/null --max-time 5 "$1" 2>/dev/null; }
is_healthy() { curl -fsS --max-time 5 "$HEALTH_URL" 2>/dev/null | grep -q '"status"[[:space:]]*:[[:space:]]*"UP"'; }
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running_pid() { # prints the pid from the pid file if that process is alive
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && { echo "$pid"; return 0; }
  return 1
}

unzip_dist() { # $1 zip, $2 target dir
  if command -v unzip >/dev/null 2>&1; then
    unzip -q "$1" -d "$2"
  elif command -v python3 >/dev/null 2>&1; then
    python3 -m zipfile -e "$1" "$2"
  else
    (cd "$2" && "${JAVA_HOME:+$JAVA_HOME/bin/}jar" xf "$1")
  fi
}

do_fetch() {
  local want="version=$KC_VERSION build=${BUILD_OPTS[*]}"
  if [[ -f "$BUILD_MARKER" && "$(cat "$BUILD_MARKER")" == "$want" ]]; then
    log "Keycloak $KC_VERSION already built in $KC_HOME"
    return 0
  fi
  select_java

  if [[ ! -f "$KC_HOME/bin/kc.sh" ]]; then
    if [[ ! -s "$KC_ZIP" ]]; then
      command -v mvn >/dev/null 2>&1 || die "mvn not found (needed to download Keycloak from Maven Central)"
      log "downloading org.keycloak:keycloak-quarkus-dist:$KC_VERSION:zip from Maven Central"
      mkdir -p "$KC_ZIP_DIR"
      mvn -q -B org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
        -Dartifact="org.keycloak:keycloak-quarkus-dist:$KC_VERSION:zip" \
        -DoutputDirectory="$KC_ZIP_DIR" >"$KC_BASE/download.log" 2>&1 || {
        tail -n 40 "$KC_BASE/download.log" >&2
        die "download failed (full log: $KC_BASE/download.log)"
      }
      [[ -s "$KC_ZIP" ]] || die "download did not produce $KC_ZIP"
    fi
    log "unpacking $KC_ZIP"
    local tmp="$KC_BASE/unpack.$$"
    rm -rf "$tmp" && mkdir -p "$tmp"
    unzip_dist "$KC_ZIP" "$tmp"
    [[ -f "$tmp/keycloak-$KC_VERSION/bin/kc.sh" ]] || die "unexpected zip layout in $KC_ZIP"
    chmod +x "$tmp/keycloak-$KC_VERSION"/bin/*.sh
    rm -rf "$KC_HOME"
    mv "$tmp/keycloak-$KC_VERSION" "$KC_HOME"
    rm -rf "$tmp"
  fi

  log "running kc.sh build ${BUILD_OPTS[*]} (takes ~1 min on 2 cores)"
  rm -f "$BUILD_MARKER"
  "$KC_HOME/bin/kc.sh" build "${BUILD_OPTS[@]}" >"$KC_BASE/build.log" 2>&1 || {
    tail -n 40 "$KC_BASE/build.log" >&2
    die "kc.sh build failed (full log: $KC_BASE/build.log)"
  }
  echo "$want" >"$BUILD_MARKER"
  log "Keycloak $KC_VERSION built in $KC_HOME"
}

fetch_locked() {
  # A named instance holds its own lock; the build it copies is guarded by the shared one.
  if [[ "$LOCK_FILE" == "$FETCH_LOCK_FILE" ]]; then
    do_fetch
  else
    (
      exec 8>"$FETCH_LOCK_FILE"
      if command -v flock >/dev/null 2>&1; then flock -w 900 8 || die "could not take lock $FETCH_LOCK_FILE"; fi
      do_fetch
    ) || exit 1
  fi
}

prepare_instance_home() {
  # The default instance runs the build itself. A named one runs a copy: hard links of everything
  # but data/ (a started server writes only below data/), refreshed when the build changes.
  [[ "$RUN_HOME" == "$KC_HOME" ]] && return 0
  if [[ -f "$RUN_HOME/.gatehouse-build" && "$(cat "$RUN_HOME/.gatehouse-build")" == "$(cat "$BUILD_MARKER")" ]]; then
    return 0
  fi
  log "preparing instance '$KEYCLOAK_INSTANCE' in $RUN_HOME"
  rm -rf "$RUN_HOME"
  mkdir -p "$RUN_HOME"
  local entry
  for entry in "$KC_HOME"/* "$KC_HOME"/.[!.]*; do
    [[ -e "$entry" && "$(basename "$entry")" != "data" ]] || continue
    cp -al "$entry" "$RUN_HOME/" 2>/dev/null || cp -a "$entry" "$RUN_HOME/"
  done
}

wait_healthy() { # $1 pid; waits for health + realm, returns non-zero on death or timeout
  local pid="$1" deadline=$((SECONDS + KEYCLOAK_START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "Keycloak process $pid exited during startup"
      return 1
    fi
    if is_healthy && http_ok "$REALM_URL"; then
      return 0
    fi
    sleep 1
  done
  log "Keycloak not healthy after ${KEYCLOAK_START_TIMEOUT}s"
  return 1
}

fail_start() { # $1 pid (may be empty)
  log "last lines of $LOG_FILE:"
  tail -n 60 "$LOG_FILE" >&2 || true
  [[ -n "${1:-}" ]] && stop_pid "$1" || true
  rm -f "$PID_FILE"
  exit 1
}

do_start() {
  with_lock
  local pid
  if pid="$(running_pid)"; then
    log "Keycloak (pid $pid) already started by this script; waiting for it to be healthy"
    wait_healthy "$pid" || fail_start "$pid"
    echo "KEYCLOAK_URL=$KEYCLOAK_URL"
    return 0
  fi
  if is_healthy; then
    if http_ok "$REALM_URL"; then
      log "a healthy Keycloak is already running on $KEYCLOAK_URL (not started by this script run)"
      echo "KEYCLOAK_URL=$KEYCLOAK_URL"
      return 0
    fi
    die "a Keycloak answers on $HEALTH_URL but realm '$REALM_NAME' is missing at $KEYCLOAK_URL"
  fi
  for p in "$KEYCLOAK_PORT" "$KEYCLOAK_MGMT_PORT"; do
    port_in_use "$p" && die "port $p on 127.0.0.1 is already in use by something else"
  done

  fetch_locked
  prepare_instance_home
  select_java

  # Fresh, reproducible state: drop the H2 database so the realm is imported from scratch.
  if [[ "${KEYCLOAK_KEEP_DATA:-0}" != "1" ]]; then
    rm -rf "$RUN_HOME/data/h2" "$RUN_HOME/data/tmp"
  fi
  mkdir -p "$RUN_HOME/data/import"
  rm -f "$RUN_HOME"/data/import/*.json
  cp "$REALM_FILE" "$RUN_HOME/data/import/realm-$REALM_NAME.json"

  local https_opts=()
  if [[ -n "${KEYCLOAK_HTTPS_PORT:-}" ]]; then
    [[ -n "${KEYCLOAK_HTTPS_CERTIFICATE_FILE:-}" && -n "${KEYCLOAK_HTTPS_CERTIFICATE_KEY_FILE:-}" ]] ||
      die "KEYCLOAK_HTTPS_PORT needs KEYCLOAK_HTTPS_CERTIFICATE_FILE and KEYCLOAK_HTTPS_CERTIFICATE_KEY_FILE"
    port_in_use "$KEYCLOAK_HTTPS_PORT" && die "port $KEYCLOAK_HTTPS_PORT on 127.0.0.1 is already in use by something else"
    https_opts=(--https-port="$KEYCLOAK_HTTPS_PORT"
      --https-certificate-file="$KEYCLOAK_HTTPS_CERTIFICATE_FILE"
      --https-certificate-key-file="$KEYCLOAK_HTTPS_CERTIFICATE_KEY_FILE"
      # The management port (/health) would follow the main interface to https; the health
      # checks here and in the harness speak plain http to it.
      --http-management-scheme=http)
    log "also serving https on 127.0.0.1:$KEYCLOAK_HTTPS_PORT"
  fi
  log "starting Keycloak $KC_VERSION on $KEYCLOAK_URL (management $KEYCLOAK_MGMT_PORT), log: $LOG_FILE"
  : >"$LOG_FILE"
  local started=$SECONDS
  # --cache=local (a runtime option in 26.x): no clustering. The default 'ispn' cache of `start`
  # mode opens JGroups ports on all interfaces (7800, 57800) and discovers peers through the DB.
  # setsid: own process group, so `stop` can signal kc.sh and its java child together.
  # 9>&-: do not hand the lock fd to the long-running server.
  KC_BOOTSTRAP_ADMIN_USERNAME="${KC_BOOTSTRAP_ADMIN_USERNAME:-admin}" \
  KC_BOOTSTRAP_ADMIN_PASSWORD="${KC_BOOTSTRAP_ADMIN_PASSWORD:-admin}" \
  KEYCLOAK_SMTP_HOST="${KEYCLOAK_SMTP_HOST:-127.0.0.1}" \
  KEYCLOAK_SMTP_PORT="${KEYCLOAK_SMTP_PORT:-1025}" \
  JAVA_OPTS_KC_HEAP="$KEYCLOAK_HEAP" \
  setsid "$RUN_HOME/bin/kc.sh" start --optimized \
    --http-enabled=true \
    --http-host=127.0.0.1 \
    --http-port="$KEYCLOAK_PORT" \
    "${https_opts[@]}" \
    --http-management-port="$KEYCLOAK_MGMT_PORT" \
    --hostname="${KEYCLOAK_HOSTNAME:-$KEYCLOAK_URL}" \
    --hostname-backchannel-dynamic="${KEYCLOAK_HOSTNAME_BACKCHANNEL_DYNAMIC:-false}" \
    --hostname-strict=true \
    --cache=local \
    --import-realm \
    </dev/null >>"$LOG_FILE" 2>&1 9>&- &
  pid=$!
  echo "$pid" >"$PID_FILE"

  wait_healthy "$pid" || fail_start "$pid"
  log "Keycloak healthy after $((SECONDS - started))s (pid $pid)"
  echo "KEYCLOAK_URL=$KEYCLOAK_URL"
}

stop_pid() { # $1 pid of kc.sh (process-group leader)
  local pid="$1" i
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || pgrep -g "$pid" >/dev/null 2>&1 || return 0
    sleep 1
  done
  log "Keycloak did not stop within 60s; killing it"
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  sleep 1
}

do_stop() {
  with_lock
  local pid
  if pid="$(running_pid)"; then
    log "stopping Keycloak (pid $pid)"
    stop_pid "$pid"
    rm -f "$PID_FILE"
    log "stopped"
  else
    rm -f "$PID_FILE"
    if is_healthy; then
      log "a Keycloak answers on $HEALTH_URL but was not started by this script (no live pid in $PID_FILE); leaving it alone"
    else
      log "not running"
    fi
  fi
}

do_status() {
  if is_healthy && http_ok "$REALM_URL"; then
    local pid
    pid="$(running_pid || echo "?")"
    log "healthy (pid $pid, realm '$REALM_NAME' present)"
    echo "KEYCLOAK_URL=$KEYCLOAK_URL"
    return 0
  fi
  if running_pid >/dev/null; then
    log "process running (pid $(running_pid)) but not healthy yet"
  else
    log "not running"
  fi
  return 1
}

do_env() {
  cat <<EOF
KEYCLOAK_URL=$KEYCLOAK_URL
KEYCLOAK_REALM=$REALM_NAME
KEYCLOAK_CLIENT_ID=gatehouse-backend
KEYCLOAK_CLIENT_SECRET=gatehouse-backend-secret
EOF
}

case "${1:-}" in
  fetch) LOCK_FILE="$FETCH_LOCK_FILE"; with_lock; do_fetch ;;
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
  env) do_env ;;
  logs) tail -n "${2:-100}" "$LOG_FILE" ;;
  *)
    echo "usage: $0 {fetch|start|stop|status|env|logs [N]}" >&2
    exit 2
    ;;
esac
