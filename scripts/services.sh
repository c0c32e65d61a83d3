#!/usr/bin/env bash
# Local backing services for Touchline, without Docker.
#
#   scripts/services.sh up       start Kafka + Apicurio Registry (and check PostgreSQL/Redis)
#   scripts/services.sh down     stop Kafka + Apicurio Registry (safe to call twice)
#   scripts/services.sh status   print up/down for each service (exit 1 if any is down)
#   scripts/services.sh env      print the export lines the app and tests use
#   scripts/services.sh smoke    prove the services work (topic create/list/produce/consume/
#                                delete with Kafka's own CLI, schema register/delete with curl)
#   scripts/services.sh kafka-stop | kafka-start | registry-stop | registry-start
#                                stop or start one service alone (fault injection, test/chaos);
#                                kafka-start restarts on the data of the last start when there
#                                is any (up always starts a fresh cluster)
#
# Apache Kafka (KRaft, one combined broker+controller) and Apicurio Registry 3.x are fetched
# from Maven Central with Maven (the only artifact source this machine can reach) into a
# cache dir and reused on later runs; runtime data, logs and pid files go into a run dir.
# See docs/services.md for what was measured and why things are done the way they are.
#
# Environment (all optional):
#   TOUCHLINE_SERVICES_HOME   download cache   (default ~/.cache/touchline-services)
#   TOUCHLINE_SERVICES_RUN    data/logs/pids   (default /tmp/touchline-services)
#   KAFKA_PORT (19092)  KAFKA_CONTROLLER_PORT (KAFKA_PORT+1)
#   REGISTRY_PORT (18081)  REGISTRY_MANAGEMENT_PORT (REGISTRY_PORT+1)
#   TOUCHLINE_SERVICES_TIMEOUT  seconds to wait for start-up (default 180)
#   KAFKA_JAVA / REGISTRY_JAVA  java binaries to use (default: found automatically)
#   TOUCHLINE_MVN_ARGS          extra Maven options (e.g. -Dmaven.repo.local=...)
#   REGISTRY_STORAGE_DIR        keep the registry's data in an H2 file database there, so it
#                               survives a restart (default: in memory, empty at every start)
set -euo pipefail

# ---------------------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------------------
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ASSETS_DIR="$SCRIPT_DIR/services"

CACHE_DIR="${TOUCHLINE_SERVICES_HOME:-$HOME/.cache/touchline-services}"
RUN_DIR="${TOUCHLINE_SERVICES_RUN:-/tmp/touchline-services}"

KAFKA_VERSION="${KAFKA_VERSION:-4.1.2}"
APICURIO_VERSION="${APICURIO_VERSION:-3.3.3}"
# Pinned so that a fresh machine resolves exactly the plugin that was tested.
DEPENDENCY_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

KAFKA_PORT="${KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
REGISTRY_PORT="${REGISTRY_PORT:-18081}"
# Quarkus opens a separate management interface (health, metrics). Its default is
# 0.0.0.0:9000, a busy port; keep it on loopback next to the registry port.
REGISTRY_MANAGEMENT_PORT="${REGISTRY_MANAGEMENT_PORT:-$((REGISTRY_PORT + 1))}"
START_TIMEOUT="${TOUCHLINE_SERVICES_TIMEOUT:-180}"
REGISTRY_STORAGE_DIR="${REGISTRY_STORAGE_DIR:-}"

KAFKA_BOOTSTRAP="127.0.0.1:$KAFKA_PORT"
REGISTRY_URL="http://127.0.0.1:$REGISTRY_PORT"
CCOMPAT_URL="$REGISTRY_URL/apis/ccompat/v7"

PG_HOST=127.0.0.1 PG_PORT=5432 PG_USER=postgres PG_DB=test
REDIS_HOST=127.0.0.1 REDIS_PORT=6379

KAFKA_RUN="$RUN_DIR/kafka"
REGISTRY_RUN="$RUN_DIR/registry"
KAFKA_LOG="$RUN_DIR/kafka.log"
REGISTRY_LOG="$RUN_DIR/registry.log"
KAFKA_PIDFILE="$RUN_DIR/kafka.pid"
REGISTRY_PIDFILE="$RUN_DIR/registry.pid"

# Every JVM we start carries this marker on its command line. It lets `down`/`status` find
# our own processes even when the pid file is gone, without matching anybody else's java.
KAFKA_MARKER="-Dtouchline.service=kafka@$KAFKA_PORT"
REGISTRY_MARKER="-Dtouchline.service=registry@$REGISTRY_PORT"

# ---------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------
log()  { printf '[services] %s\n' "$*"; }
warn() { printf '[services] WARNING: %s\n' "$*" >&2; }
die()  { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

now() { date +%s.%N; }
# seconds since $1 (a `now` value), one decimal
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

require_cmd() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || die "'$c' is not installed (needed by $0)"
  done
}

# True if something accepts TCP connections on 127.0.0.1:$1 (bash's /dev/tcp, no nc needed).
port_open() {
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" >/dev/null 2>&1
}

# Print the major Java version of a java binary ("17", "25"), nothing if it does not run.
java_major() {
  "$1" -XshowSettings:properties -version 2>&1 |
    awk -F'= ' '/java.specification.version/ { sub(/^1\./, "", $2); print $2; exit }' || true
}

# find_java MIN [preferred...]: print the first java binary whose version >= MIN.
# Candidates: the given ones, then JAVA_HOME, the java on PATH, every JDK in /usr/lib/jvm
# (newest first).
find_java() {
  local min="$1" cand major
  shift
  local -a cands=("$@")
  [[ -n "${JAVA_HOME:-}" ]] && cands+=("$JAVA_HOME/bin/java")
  cands+=("$(command -v java 2>/dev/null || true)")
  local jdk
  while IFS= read -r jdk; do cands+=("$jdk/bin/java"); done \
    < <(printf '%s\n' /usr/lib/jvm/*/ | sed 's:/$::' | sort -rV)
  for cand in "${cands[@]}"; do
    [[ -n "$cand" && -x "$cand" ]] || continue
    major="$(java_major "$cand")"
    if [[ -n "$major" && "$major" -ge "$min" ]]; then
      echo "$cand"
      return 0
    fi
  done
  return 1
}

# Pid of our running service: from the pid file if that process still carries the
# marker, else by scanning /proc for the exact marker argument. Prints nothing if down.
service_pid() {
  local pidfile="$1" marker="$2" pid f
  if [[ -s "$pidfile" ]]; then
    pid="$(cat "$pidfile")"
    if has_marker "$pid" "$marker"; then echo "$pid"; return 0; fi
  fi
  for f in /proc/[0-9]*/cmdline; do
    pid="${f#/proc/}"; pid="${pid%/cmdline}"
    if has_marker "$pid" "$marker"; then echo "$pid"; return 0; fi
  done
  return 0
}

has_marker() {
  local pid="$1" marker="$2"
  [[ "$pid" =~ ^[0-9]+$ && -r "/proc/$pid/cmdline" ]] || return 1
  # no `grep -q` in a pipe: with pipefail an early exit of grep can fail the pipeline
  tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null | grep -xF -- "$marker" >/dev/null
}

# Start a command fully detached (own session, no stdin, output to a log file) so it
# survives the end of this script and of the CI step. The pid file is written by the
# process itself right before it execs the JVM, so it is the JVM's pid even if setsid
# had to fork.
launch_detached() {
  local workdir="$1" logfile="$2" pidfile="$3"
  shift 3
  rm -f "$pidfile"
  (
    cd "$workdir"
    # shellcheck disable=SC2016  # $$, $0 and $@ are for the inner sh
    exec setsid nohup sh -c 'echo $$ > "$0"; exec "$@"' "$pidfile" "$@" \
      > "$logfile" 2>&1 < /dev/null
  ) &
  for _ in $(seq 1 50); do
    [[ -s "$pidfile" ]] && return 0
    sleep 0.1
  done
  die "could not start: $*"
}

# SIGTERM, wait up to 30 s, then SIGKILL.
stop_pid() {
  local name="$1" pid="$2"
  [[ -n "$pid" ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true   # may already be gone (down TERMs both first)
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || { log "$name stopped (pid $pid)"; return 0; }
    sleep 0.1
  done
  warn "$name (pid $pid) did not stop after 30 s, sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

show_log_tail() {
  local name="$1" file="$2"
  if [[ -f "$file" ]]; then
    echo "----- last 40 lines of $file ($name) -----" >&2
    tail -n 40 "$file" >&2 || true
    echo "----- end of $file -----" >&2
  else
    echo "(no log file $file)" >&2
  fi
}

# ---------------------------------------------------------------------------------------
# Downloads (Maven Central only), cached under $CACHE_DIR
# ---------------------------------------------------------------------------------------
# Maven runs from a scratch dir so that nothing (target/, markers) lands in the checkout.
run_mvn() {
  local logfile="$1"
  shift
  local scratch="$CACHE_DIR/.mvn-scratch"
  mkdir -p "$scratch"
  # TOUCHLINE_MVN_ARGS: extra Maven options, e.g. -o or -Dmaven.repo.local=/some/repo
  local -a extra=()
  read -r -a extra <<< "${TOUCHLINE_MVN_ARGS:-}"
  if ! (cd "$scratch" && mvn -B -ntp -Dstyle.color=never "${extra[@]+"${extra[@]}"}" "$@") \
       > "$logfile" 2>&1 < /dev/null; then
    show_log_tail "maven" "$logfile"
    return 1
  fi
}

# Kafka: resolve kafka-pom.xml's runtime dependencies into one lib folder. The folder name
# includes a hash of the pom, so editing the pom re-resolves; `.complete` marks success.
KAFKA_LIBS=""
ensure_kafka_libs() {
  local pom="$ASSETS_DIR/kafka-pom.xml" hash dir
  hash="$(sha256sum "$pom" | cut -c1-12)"
  dir="$CACHE_DIR/kafka-$KAFKA_VERSION-$hash"
  KAFKA_LIBS="$dir/libs"
  [[ -f "$dir/.complete" ]] && return 0

  log "downloading Kafka $KAFKA_VERSION jars from Maven Central (first run only) ..."
  local t0 tmp
  t0="$(now)"
  mkdir -p "$CACHE_DIR"
  tmp="$(mktemp -d "$CACHE_DIR/.kafka-XXXXXX")"
  run_mvn "$CACHE_DIR/kafka-download.log" -f "$pom" -Dkafka.version="$KAFKA_VERSION" \
      "$DEPENDENCY_PLUGIN:copy-dependencies" -DincludeScope=runtime -DoutputDirectory="$tmp/libs" \
    || { rm -rf "$tmp"; die "could not download Kafka $KAFKA_VERSION (see above)"; }
  [[ -f "$tmp/libs/kafka_2.13-$KAFKA_VERSION.jar" ]] || { rm -rf "$tmp"; die "Kafka jar missing after download"; }
  rm -rf "$dir"
  mv "$tmp" "$dir"
  touch "$dir/.complete"
  log "Kafka jars downloaded in $(since "$t0") s ($(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars, $(du -sh "$KAFKA_LIBS" | cut -f1))"
}

# Apicurio Registry: the all-in-one Quarkus build is published on Maven Central as
# io.apicurio:apicurio-registry-app:<v>:tar.gz:all (~159 MB). Copy it out of the local
# Maven repo, unpack, drop the tarball (the ~/.m2 copy stays for re-use).
APICURIO_HOME="$CACHE_DIR/apicurio-registry-$APICURIO_VERSION"
apicurio_cached() { [[ -f "$APICURIO_HOME/.complete" && -f "$APICURIO_HOME/quarkus-run.jar" ]]; }
ensure_apicurio() {
  local dir="$APICURIO_HOME"
  apicurio_cached && return 0

  log "downloading Apicurio Registry $APICURIO_VERSION from Maven Central (first run only, ~160 MB) ..."
  local t0 tmp tarball
  t0="$(now)"
  mkdir -p "$CACHE_DIR"
  tmp="$(mktemp -d "$CACHE_DIR/.apicurio-XXXXXX")"
  run_mvn "$CACHE_DIR/apicurio-download.log" "$DEPENDENCY_PLUGIN:copy" \
      -Dartifact="io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all" \
      -DoutputDirectory="$tmp/dl" \
    || { rm -rf "$tmp"; die "could not download Apicurio Registry $APICURIO_VERSION (see above)"; }
  tarball="$tmp/dl/apicurio-registry-app-$APICURIO_VERSION-all.tar.gz"
  [[ -f "$tarball" ]] || { rm -rf "$tmp"; die "Apicurio tarball missing after download"; }
  mkdir -p "$tmp/app"
  tar -xzf "$tarball" -C "$tmp/app" || { rm -rf "$tmp"; die "could not unpack $tarball"; }
  [[ -f "$tmp/app/quarkus-run.jar" ]] || { rm -rf "$tmp"; die "quarkus-run.jar not found in $tarball"; }
  rm -rf "$dir"
  mv "$tmp/app" "$dir"
  rm -rf "$tmp"
  touch "$dir/.complete"
  log "Apicurio Registry downloaded and unpacked in $(since "$t0") s"
}

# ---------------------------------------------------------------------------------------
# Java selection
# ---------------------------------------------------------------------------------------
# Kafka 4.x brokers need Java 17+ (tested with the default OpenJDK 17).
# Apicurio Registry 3.3 is compiled for Java 21 (class file 65): on 17 it dies with
# UnsupportedClassVersionError, so it gets the newest JDK available (Temurin 25 here).
KAFKA_JAVA_BIN=""
REGISTRY_JAVA_BIN=""
pick_javas() {
  KAFKA_JAVA_BIN="$(find_java 17 "${KAFKA_JAVA:-}")" \
    || die "Kafka $KAFKA_VERSION needs Java 17 or newer; none found (set KAFKA_JAVA)"
  REGISTRY_JAVA_BIN="$(find_java 21 "${REGISTRY_JAVA:-}" /usr/lib/jvm/temurin-25-jdk-amd64/bin/java)" \
    || die "Apicurio Registry $APICURIO_VERSION needs Java 21 or newer; none found in /usr/lib/jvm (set REGISTRY_JAVA)"
}

# ---------------------------------------------------------------------------------------
# Kafka
# ---------------------------------------------------------------------------------------
# Run one of Kafka's own CLI tools (TopicCommand, ConsoleProducer, ...) at WARN level.
kafka_cli() {
  local class="$1"
  shift
  "${KAFKA_JAVA_BIN:-java}" -Xmx256m -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$ASSETS_DIR/log4j2.properties" -Dtouchline.log.level=WARN \
    -cp "$KAFKA_LIBS/*" "$class" "$@"
}

# Kafka's Uuid.randomUuid() is 16 random bytes, URL-safe base64 without padding; it never
# hands out ids that start with '-' (they look like CLI options). Same here, without
# paying a JVM start for `StorageTool random-uuid`.
random_cluster_id() {
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [[ "$id" != -* ]] && { echo "$id"; return 0; }
  done
}

kafka_pid() { service_pid "$KAFKA_PIDFILE" "$KAFKA_MARKER"; }

# Healthy = our process is alive, the port is open and the broker answers an admin request.
kafka_healthy() {
  [[ -n "$(kafka_pid)" ]] && port_open "$KAFKA_PORT" && kafka_list_topics >/dev/null 2>&1
}

# `TopicCommand --list` with a hard time limit: an admin client whose broker does not
# answer would otherwise retry for a minute or more.
kafka_list_topics() {
  timeout 30 "${KAFKA_JAVA_BIN:-java}" -Xmx256m \
    -Dlog4j2.configurationFile="$ASSETS_DIR/log4j2.properties" -Dtouchline.log.level=ERROR \
    -cp "$KAFKA_LIBS/*" org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "$KAFKA_BOOTSTRAP" --list
}

KAFKA_T0=""
# start_kafka [keep]: with `keep` and a formatted data dir, the broker restarts on its data
# (same cluster id, topics, offsets, committed groups), as a broker restart in production does.
start_kafka() {
  if [[ "${1:-}" == keep && -f "$KAFKA_RUN/data/meta.properties" && -f "$KAFKA_RUN/server.properties" ]]; then
    [[ -f "$KAFKA_LOG" ]] && mv -f "$KAFKA_LOG" "$KAFKA_LOG.prev"
    KAFKA_T0="$(now)"
    launch_kafka_jvm
    log "Kafka restarting on its data (pid $(cat "$KAFKA_PIDFILE"), log $KAFKA_LOG)"
    return 0
  fi
  # A fresh single-node cluster every time: wipe data, new cluster id, format, start.
  rm -rf "$KAFKA_RUN"
  mkdir -p "$KAFKA_RUN/data"
  [[ -f "$KAFKA_LOG" ]] && mv -f "$KAFKA_LOG" "$KAFKA_LOG.prev"
  sed -e "s#@KAFKA_PORT@#$KAFKA_PORT#g" \
      -e "s#@KAFKA_CONTROLLER_PORT@#$KAFKA_CONTROLLER_PORT#g" \
      -e "s#@KAFKA_DATA_DIR@#$KAFKA_RUN/data#g" \
      "$ASSETS_DIR/server.properties.template" > "$KAFKA_RUN/server.properties"

  KAFKA_T0="$(now)"
  # Static controller.quorum.voters => plain format (no --standalone / --initial-controllers).
  kafka_cli kafka.tools.StorageTool format -t "$(random_cluster_id)" \
      -c "$KAFKA_RUN/server.properties" --ignore-formatted > "$KAFKA_RUN/format.log" 2>&1 \
    || { show_log_tail "kafka storage format" "$KAFKA_RUN/format.log"; die "formatting Kafka storage failed"; }
  launch_kafka_jvm
  log "Kafka starting (pid $(cat "$KAFKA_PIDFILE"), log $KAFKA_LOG)"
}

launch_kafka_jvm() {
  launch_detached "$KAFKA_RUN" "$KAFKA_LOG" "$KAFKA_PIDFILE" \
    "$KAFKA_JAVA_BIN" "$KAFKA_MARKER" \
    -Xms128m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$ASSETS_DIR/log4j2.properties" -Dtouchline.log.level=INFO \
    -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_RUN/server.properties"
}

# ---------------------------------------------------------------------------------------
# Apicurio Registry
# ---------------------------------------------------------------------------------------
registry_pid() { service_pid "$REGISTRY_PIDFILE" "$REGISTRY_MARKER"; }

registry_healthy() {
  [[ -n "$(registry_pid)" ]] || return 1
  [[ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$CCOMPAT_URL/subjects" 2>/dev/null || true)" == 200 ]]
}

REGISTRY_T0=""
start_registry() {
  rm -rf "$REGISTRY_RUN"
  mkdir -p "$REGISTRY_RUN"
  [[ -f "$REGISTRY_LOG" ]] && mv -f "$REGISTRY_LOG" "$REGISTRY_LOG.prev"

  # Class-data sharing: JDK 19+ writes a class archive when the JVM exits (at `down`) and
  # maps it on the next start, which cut the registry's start-up by about 30 % here.
  # A stale or foreign archive is simply re-created.
  local -a cds=()
  local major
  major="$(java_major "$REGISTRY_JAVA_BIN")"
  if [[ -n "$major" && "$major" -ge 19 ]]; then
    cds=(-XX:+AutoCreateSharedArchive -XX:SharedArchiveFile="$APICURIO_HOME/registry-jdk$major.jsa")
  fi

  # Storage: the default in-memory H2 database (every start is an empty registry), or with
  # REGISTRY_STORAGE_DIR an H2 file database there, which keeps schemas and ids across restarts.
  local -a storage=()
  if [[ -n "$REGISTRY_STORAGE_DIR" ]]; then
    mkdir -p "$REGISTRY_STORAGE_DIR"
    storage=(-Dapicurio.datasource.url="jdbc:h2:file:$REGISTRY_STORAGE_DIR/registry")
  fi

  REGISTRY_T0="$(now)"
  # apicurio.rules.global.compatibility=BACKWARD is a *default* global rule: it applies
  # and is reported by GET /apis/ccompat/v7/config without anything being PUT.
  launch_detached "$REGISTRY_RUN" "$REGISTRY_LOG" "$REGISTRY_PIDFILE" \
    "$REGISTRY_JAVA_BIN" "$REGISTRY_MARKER" \
    -Xms64m -Xmx512m -XX:+ExitOnOutOfMemoryError "${cds[@]+"${cds[@]}"}" \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$REGISTRY_PORT" \
    -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port="$REGISTRY_MANAGEMENT_PORT" \
    -Dapicurio.rules.global.compatibility=BACKWARD "${storage[@]+"${storage[@]}"}" \
    -jar "$APICURIO_HOME/quarkus-run.jar"
  log "Apicurio Registry starting (pid $(cat "$REGISTRY_PIDFILE"), log $REGISTRY_LOG)"
}

# Make sure the global compatibility rule really is BACKWARD; set it if not.
ensure_global_compatibility() {
  local cfg
  cfg="$(curl -s -m 10 "$CCOMPAT_URL/config" || true)"
  if [[ "$cfg" == *'"BACKWARD"'* ]]; then
    return 0
  fi
  warn "global compatibility is '$cfg', setting BACKWARD through the ccompat API"
  curl -s -m 10 -X PUT -H 'Content-Type: application/vnd.schemaregistry.v1+json' \
    --data '{"compatibility":"BACKWARD"}' "$CCOMPAT_URL/config" >/dev/null || true
  cfg="$(curl -s -m 10 "$CCOMPAT_URL/config" || true)"
  [[ "$cfg" == *'"BACKWARD"'* ]] || die "could not set the global compatibility rule (config: $cfg)"
}

# ---------------------------------------------------------------------------------------
# Waiting for start-up (both services at once)
# ---------------------------------------------------------------------------------------
# wait_started kafka|registry ...: poll until each named service is healthy; print the
# start-up time of each. On death or timeout print the log tail, stop it, return 1.
wait_started() {
  local -a pending=("$@")
  local deadline=$((SECONDS + START_TIMEOUT)) failed=0 svc
  local kafka_started_at=""
  while ((${#pending[@]} > 0)); do
    local -a still=()
    for svc in "${pending[@]}"; do
      case "$svc" in
        kafka)
          if [[ -z "$(kafka_pid)" ]]; then
            warn "Kafka exited during start-up"; show_log_tail kafka "$KAFKA_LOG"; failed=1; continue
          fi
          # The log line comes first; then prove the broker answers an admin request.
          if grep -q 'Kafka Server started' "$KAFKA_LOG" 2>/dev/null; then
            [[ -n "$kafka_started_at" ]] || kafka_started_at="$(since "$KAFKA_T0")"
            if kafka_list_topics >/dev/null 2>&1; then
              log "Kafka ready in $(since "$KAFKA_T0") s (format + JVM start; 'Kafka Server started' after ${kafka_started_at} s) on $KAFKA_BOOTSTRAP"
              continue
            fi
          fi
          ;;
        registry)
          if [[ -z "$(registry_pid)" ]]; then
            warn "Apicurio Registry exited during start-up"; show_log_tail registry "$REGISTRY_LOG"; failed=1; continue
          fi
          if [[ "$(curl -s -m 3 "$CCOMPAT_URL/subjects" 2>/dev/null || true)" == \[*\] ]]; then
            log "Apicurio Registry ready in $(since "$REGISTRY_T0") s on $REGISTRY_URL"
            ensure_global_compatibility
            continue
          fi
          ;;
      esac
      still+=("$svc")
    done
    pending=("${still[@]+"${still[@]}"}")
    ((${#pending[@]} == 0)) && break
    if ((SECONDS >= deadline)); then
      for svc in "${pending[@]}"; do
        warn "$svc not ready after $START_TIMEOUT s, stopping it"
        if [[ "$svc" == kafka ]]; then
          show_log_tail kafka "$KAFKA_LOG"; stop_pid kafka "$(kafka_pid)"
        else
          show_log_tail registry "$REGISTRY_LOG"; stop_pid registry "$(registry_pid)"
        fi
      done
      return 1
    fi
    sleep 0.5
  done
  return "$failed"
}

# ---------------------------------------------------------------------------------------
# PostgreSQL and Redis (installed and started by the machine; restart them if they died)
# ---------------------------------------------------------------------------------------
pg_ready() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" >/dev/null 2>&1; }
redis_ready() { [[ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null || true)" == PONG ]]; }

# Prints problems on stdout (one per line); prints nothing when all is well.
ensure_postgres() {
  if ! command -v pg_isready >/dev/null 2>&1; then
    echo "PostgreSQL client tools (pg_isready) are not installed"; return 0
  fi
  if ! pg_ready; then
    log "PostgreSQL is not answering on $PG_HOST:$PG_PORT, trying to start it" >&2
    if command -v pg_ctlcluster >/dev/null 2>&1 && [[ -d /etc/postgresql ]]; then
      local vdir
      for vdir in /etc/postgresql/*/; do
        [[ -d "$vdir" ]] || continue
        pg_ctlcluster --skip-systemctl-redirect "$(basename "$vdir")" main start >&2 || true
      done
      for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
    fi
    pg_ready || { echo "PostgreSQL is not running on $PG_HOST:$PG_PORT and could not be started (pg_ctlcluster ... main start failed or PostgreSQL is not installed)"; return 0; }
    log "PostgreSQL started" >&2
  fi
  # The app and tests use database 'test'; create it if a fresh cluster lacks it.
  if ! psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$PG_DB" -tAc 'select 1' >/dev/null 2>&1; then
    createdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$PG_DB" >/dev/null 2>&1 \
      || echo "PostgreSQL is up but database '$PG_DB' (user $PG_USER, trust auth) is not usable"
  fi
}

ensure_redis() {
  if ! command -v redis-cli >/dev/null 2>&1; then
    echo "Redis client (redis-cli) is not installed"; return 0
  fi
  redis_ready && return 0
  log "Redis is not answering on $REDIS_HOST:$REDIS_PORT, trying to start it" >&2
  if command -v redis-server >/dev/null 2>&1; then
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" \
      --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log >&2 || true
    for _ in $(seq 1 20); do redis_ready && break; sleep 0.5; done
  fi
  redis_ready || { echo "Redis is not running on $REDIS_HOST:$REDIS_PORT and could not be started (redis-server missing or failed, see /var/log/redis/ci.log)"; return 0; }
  log "Redis started" >&2
}

# ---------------------------------------------------------------------------------------
# Subcommands
# ---------------------------------------------------------------------------------------
cmd_up() {
  require_cmd java mvn curl tar sha256sum timeout setsid nohup awk
  mkdir -p "$RUN_DIR" "$CACHE_DIR"

  local problems
  problems="$(ensure_postgres; ensure_redis)"

  pick_javas
  ensure_kafka_libs

  # Start-up is CPU-bound (class loading, JIT) and the machine has 2 cores, so both JVMs
  # are started at once and waited for together. The registry is the slower one, so it
  # goes first when it is already cached; on a first run Kafka starts while the registry
  # is still downloading. (The downloads run one after the other: two Maven processes
  # writing the same ~/.m2 at once is not safe.)
  # Decide first what must be started, and check its ports, so that a port conflict
  # stops `up` before anything was started.
  local need_kafka=1 need_registry=1
  if kafka_healthy; then
    log "Kafka already running (pid $(kafka_pid)) on $KAFKA_BOOTSTRAP"; need_kafka=0
  else
    stop_stale kafka "$(kafka_pid)"
    ports_free KAFKA_PORT "$KAFKA_PORT" KAFKA_CONTROLLER_PORT "$KAFKA_CONTROLLER_PORT"
  fi
  if registry_healthy; then
    log "Apicurio Registry already running (pid $(registry_pid)) on $REGISTRY_URL"; need_registry=0
    ensure_global_compatibility
  else
    stop_stale registry "$(registry_pid)"
    ports_free REGISTRY_PORT "$REGISTRY_PORT" REGISTRY_MANAGEMENT_PORT "$REGISTRY_MANAGEMENT_PORT"
  fi

  TO_WAIT=()
  if apicurio_cached; then
    if ((need_registry)); then start_registry; TO_WAIT+=(registry); fi
    if ((need_kafka)); then start_kafka; TO_WAIT+=(kafka); fi
  else
    if ((need_kafka)); then start_kafka; TO_WAIT+=(kafka); fi
    ensure_apicurio
    if ((need_registry)); then start_registry; TO_WAIT+=(registry); fi
  fi

  local rc=0
  if ((${#TO_WAIT[@]} > 0)); then
    wait_started "${TO_WAIT[@]}" || rc=1
  fi

  if [[ -n "$problems" ]]; then
    while IFS= read -r line; do warn "$line"; done <<< "$problems"
    rc=1
  fi
  if ((rc != 0)); then
    die "not all services are up (see above)"
  fi
  report_memory
  log "all services up. Use: eval \"\$($0 env)\""
}

# ports_free NAME PORT [NAME PORT ...]: die if one of the ports is taken by someone else.
ports_free() {
  while (($# >= 2)); do
    port_open "$2" && die "port $2 ($1) is already in use by another process; pick another with $1=..."
    shift 2
  done
  return 0
}

# A process of ours that is alive but not healthy (hung, half-started) is stopped first.
stop_stale() {
  local name="$1" pid="$2"
  [[ -n "$pid" ]] || return 0
  warn "$name (pid $pid) is running but not healthy, restarting it"
  stop_pid "$name" "$pid"
}

report_memory() {
  local pid
  pid="$(kafka_pid)"
  [[ -n "$pid" ]] && log "Kafka RSS: $(awk '/VmRSS/ { printf "%d MB", $2/1024 }' "/proc/$pid/status" 2>/dev/null || echo '?')"
  pid="$(registry_pid)"
  [[ -n "$pid" ]] && log "Apicurio Registry RSS: $(awk '/VmRSS/ { printf "%d MB", $2/1024 }' "/proc/$pid/status" 2>/dev/null || echo '?')"
  return 0
}

cmd_down() {
  local kpid rpid
  kpid="$(kafka_pid)"
  rpid="$(registry_pid)"
  # SIGTERM both first so they shut down in parallel, then wait for each.
  if [[ -n "$kpid" ]]; then kill -TERM "$kpid" 2>/dev/null || true; fi
  if [[ -n "$rpid" ]]; then kill -TERM "$rpid" 2>/dev/null || true; fi
  if [[ -n "$kpid" ]]; then stop_pid kafka "$kpid"; else log "kafka was not running"; fi
  if [[ -n "$rpid" ]]; then stop_pid registry "$rpid"; else log "registry was not running"; fi
  rm -f "$KAFKA_PIDFILE" "$REGISTRY_PIDFILE"
}

# One service alone, for fault injection (test/chaos): stop it, or start it and wait until it
# answers. kafka-start restarts on the data of the last start when there is any.
cmd_stop_one() {
  local name="$1" pid
  if [[ "$name" == kafka ]]; then pid="$(kafka_pid)"; else pid="$(registry_pid)"; fi
  if [[ -n "$pid" ]]; then stop_pid "$name" "$pid"; else log "$name was not running"; fi
}

cmd_start_one() {
  local name="$1"
  require_cmd java mvn curl tar sha256sum timeout setsid nohup awk
  mkdir -p "$RUN_DIR" "$CACHE_DIR"
  pick_javas
  ensure_kafka_libs
  if [[ "$name" == kafka ]]; then
    if kafka_healthy; then log "Kafka already running (pid $(kafka_pid))"; return 0; fi
    stop_stale kafka "$(kafka_pid)"
    ports_free KAFKA_PORT "$KAFKA_PORT" KAFKA_CONTROLLER_PORT "$KAFKA_CONTROLLER_PORT"
    start_kafka keep
  else
    if registry_healthy; then log "Apicurio Registry already running (pid $(registry_pid))"; return 0; fi
    stop_stale registry "$(registry_pid)"
    ports_free REGISTRY_PORT "$REGISTRY_PORT" REGISTRY_MANAGEMENT_PORT "$REGISTRY_MANAGEMENT_PORT"
    ensure_apicurio
    start_registry
  fi
  wait_started "$name" || die "$name did not start (see above)"
}

cmd_status() {
  local all=0 pid
  # status needs the lib dir for the Kafka admin check; no download here.
  KAFKA_LIBS="$CACHE_DIR/kafka-$KAFKA_VERSION-$(sha256sum "$ASSETS_DIR/kafka-pom.xml" | cut -c1-12)/libs"
  KAFKA_JAVA_BIN="$(find_java 17 "${KAFKA_JAVA:-}" 2>/dev/null || echo java)"

  pid="$(kafka_pid)"
  if [[ -n "$pid" ]] && kafka_healthy; then
    echo "kafka:      up   (pid $pid, $KAFKA_BOOTSTRAP)"
  elif [[ -n "$pid" ]]; then
    echo "kafka:      down (pid $pid alive but not answering on $KAFKA_BOOTSTRAP)"; all=1
  else
    echo "kafka:      down"; all=1
  fi

  pid="$(registry_pid)"
  if [[ -n "$pid" ]] && registry_healthy; then
    echo "registry:   up   (pid $pid, $REGISTRY_URL)"
  elif [[ -n "$pid" ]]; then
    echo "registry:   down (pid $pid alive but not answering on $REGISTRY_URL)"; all=1
  else
    echo "registry:   down"; all=1
  fi

  if command -v pg_isready >/dev/null 2>&1 && pg_ready; then
    echo "postgresql: up   ($PG_HOST:$PG_PORT)"
  else
    echo "postgresql: down"; all=1
  fi
  if command -v redis-cli >/dev/null 2>&1 && redis_ready; then
    echo "redis:      up   ($REDIS_HOST:$REDIS_PORT)"
  else
    echo "redis:      down"; all=1
  fi
  return "$all"
}

cmd_env() {
  cat <<EOF
export KAFKA_BROKERS=$KAFKA_BOOTSTRAP
export SCHEMA_REGISTRY_URL=$CCOMPAT_URL
export REDIS_URL=redis://$REDIS_HOST:$REDIS_PORT
export DATABASE_URL=postgres://$PG_USER@$PG_HOST:$PG_PORT/$PG_DB
EOF
}

# Proves both services really work, using Kafka's own CLI and curl.
cmd_smoke() {
  require_cmd curl
  pick_javas
  ensure_kafka_libs
  local failures=0 topic="touchline-smoke-$$" out

  # --- Kafka ---------------------------------------------------------------------------
  if kafka_cli org.apache.kafka.tools.TopicCommand --bootstrap-server "$KAFKA_BOOTSTRAP" \
       --create --topic "$topic" --partitions 3 --replication-factor 1 >/dev/null; then
    log "ok   kafka: created topic $topic"
  else
    warn "FAIL kafka: could not create topic $topic"; failures=$((failures + 1))
  fi
  out="$(kafka_cli org.apache.kafka.tools.TopicCommand --bootstrap-server "$KAFKA_BOOTSTRAP" --list || true)"
  if grep -qxF "$topic" <<< "$out"; then
    log "ok   kafka: topic listed"
  else
    warn "FAIL kafka: topic not in --list output: $out"; failures=$((failures + 1))
  fi
  out="$(kafka_cli org.apache.kafka.tools.TopicCommand --bootstrap-server "$KAFKA_BOOTSTRAP" --describe --topic "$topic" || true)"
  if [[ "$out" == *"PartitionCount: 3"* ]]; then
    log "ok   kafka: topic has 3 partitions"
  else
    warn "FAIL kafka: describe did not show 3 partitions: $out"; failures=$((failures + 1))
  fi
  if printf 'one\ntwo\nthree\n' | kafka_cli org.apache.kafka.tools.ConsoleProducer \
       --bootstrap-server "$KAFKA_BOOTSTRAP" --topic "$topic" >/dev/null; then
    out="$(kafka_cli org.apache.kafka.tools.consumer.ConsoleConsumer --bootstrap-server "$KAFKA_BOOTSTRAP" \
             --topic "$topic" --from-beginning --max-messages 3 --timeout-ms 30000 < /dev/null 2>/dev/null || true)"
    if [[ "$(sort <<< "$out" | tr '\n' ' ')" == "one three two " ]]; then
      log "ok   kafka: produced and consumed 3 messages"
    else
      warn "FAIL kafka: consumed '$out' instead of one/two/three"; failures=$((failures + 1))
    fi
  else
    warn "FAIL kafka: could not produce"; failures=$((failures + 1))
  fi
  if kafka_cli org.apache.kafka.tools.TopicCommand --bootstrap-server "$KAFKA_BOOTSTRAP" \
       --delete --topic "$topic" >/dev/null; then
    log "ok   kafka: deleted topic $topic"
  else
    warn "FAIL kafka: could not delete topic $topic"; failures=$((failures + 1))
  fi

  # --- Apicurio Registry (Confluent-compatible API) -------------------------------------
  local ct='Content-Type: application/vnd.schemaregistry.v1+json' subj=test-value
  local compat_subj="touchline-smoke-compat-value"
  local s
  for s in "$subj" "$compat_subj"; do   # leftovers of an interrupted run
    curl -s -m 10 -o /dev/null -X DELETE "$CCOMPAT_URL/subjects/$s" || true
    curl -s -m 10 -o /dev/null -X DELETE "$CCOMPAT_URL/subjects/$s?permanent=true" || true
  done

  out="$(curl -s -m 10 -X POST -H "$ct" --data '{"schema":"{\"type\":\"string\"}"}' \
           "$CCOMPAT_URL/subjects/$subj/versions" || true)"
  if [[ "$out" =~ \"id\":[0-9]+ ]]; then
    log "ok   registry: registered Avro schema under $subj -> $out"
  else
    warn "FAIL registry: register returned '$out'"; failures=$((failures + 1))
  fi
  out="$(curl -s -m 10 "$CCOMPAT_URL/config" || true)"
  if [[ "$out" == *'"BACKWARD"'* ]]; then
    log "ok   registry: global compatibility $out"
  else
    warn "FAIL registry: global config is '$out'"; failures=$((failures + 1))
  fi
  # BACKWARD must really be enforced: adding a field without a default is rejected (409).
  curl -s -m 10 -o /dev/null -X POST -H "$ct" \
    --data '{"schema":"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"string\"}]}"}' \
    "$CCOMPAT_URL/subjects/$compat_subj/versions" || true
  out="$(curl -s -m 10 -o /dev/null -w '%{http_code}' -X POST -H "$ct" \
    --data '{"schema":"{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"string\"},{\"name\":\"b\",\"type\":\"int\"}]}"}' \
    "$CCOMPAT_URL/subjects/$compat_subj/versions" || true)"
  if [[ "$out" == 409 ]]; then
    log "ok   registry: incompatible schema rejected with 409"
  else
    warn "FAIL registry: incompatible schema answered HTTP $out (expected 409)"; failures=$((failures + 1))
  fi
  for s in "$subj" "$compat_subj"; do
    curl -s -m 10 -o /dev/null -X DELETE "$CCOMPAT_URL/subjects/$s" || true
    out="$(curl -s -m 10 -o /dev/null -w '%{http_code}' -X DELETE "$CCOMPAT_URL/subjects/$s?permanent=true" || true)"
    [[ "$out" == 200 ]] || { warn "FAIL registry: permanent delete of $s answered HTTP $out"; failures=$((failures + 1)); }
  done
  out="$(curl -s -m 10 "$CCOMPAT_URL/subjects?deleted=true" || true)"
  if [[ "$out" != *"\"$subj\""* ]]; then
    log "ok   registry: subject $subj deleted"
  else
    warn "FAIL registry: $subj still listed: $out"; failures=$((failures + 1))
  fi

  # --- PostgreSQL / Redis ---------------------------------------------------------------
  if [[ "$(psql -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$PG_DB" -tAc 'select 1' 2>/dev/null || true)" == 1 ]]; then
    log "ok   postgresql: select 1 on $PG_DB"
  else
    warn "FAIL postgresql: cannot query $PG_DB"; failures=$((failures + 1))
  fi
  if redis_ready; then
    log "ok   redis: PONG"
  else
    warn "FAIL redis: no PONG"; failures=$((failures + 1))
  fi

  ((failures == 0)) || die "smoke test: $failures check(s) failed"
  log "smoke test passed"
}

usage() {
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
}

main() {
  local cmd="${1:-}"
  case "$cmd" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) cmd_env ;;
    smoke) cmd_smoke ;;
    kafka-stop) cmd_stop_one kafka ;;
    registry-stop) cmd_stop_one registry ;;
    kafka-start) cmd_start_one kafka ;;
    registry-start) cmd_start_one registry ;;
    -h|--help|help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
