#!/usr/bin/env bash
# Secure twins of the local services, for the TLS/SASL end-to-end test
# (test/e2e/secure-connections.test.ts), next to the plain ones of scripts/services.sh:
#
#   scripts/secure-services.sh up      make the test CA (once) and start the three servers
#                                      (idempotent: what already answers is left alone)
#   scripts/secure-services.sh down    stop them (safe to call twice); the CA and secrets stay
#   scripts/secure-services.sh status  up/down per server (exit 1 if any is down)
#   scripts/secure-services.sh env     print the export lines the test uses (SECURE_*)
#
#   Kafka 4.1 (KRaft, own node and data)  SASL_SSL only, SCRAM-SHA-512; credentials written at
#                                         storage format (kafka-storage format --add-scram)
#   Redis (the machine's redis-server)    TLS only (--port 0 --tls-port), ACL user, default off
#   PostgreSQL 15 (own cluster, initdb)   ssl=on, hostssl-only pg_hba, scram-sha-256; roles
#                                         touchline_owner (DDL) and touchline_app (DML only)
#
# Every server certificate is signed by a test CA made here with openssl (SAN 127.0.0.1 and
# localhost). A second CA that signed nothing ("other") is there to prove that an untrusted
# certificate is refused. Passwords are random, made once per run dir (secrets.env).
# The Kafka jars are the ones scripts/services.sh downloads (same cache, same pom hash); if
# they are missing they are fetched the same way (Maven Central).
#
# Environment (all optional):
#   TOUCHLINE_SECURE_RUN        CA, secrets, data, logs, pids (default /tmp/touchline-secure)
#   TOUCHLINE_SERVICES_HOME     download cache shared with services.sh (~/.cache/touchline-services)
#   SECURE_KAFKA_PORT (19192)   SECURE_KAFKA_CONTROLLER_PORT (SECURE_KAFKA_PORT+1)
#   SECURE_REDIS_PORT (16380)   SECURE_PG_PORT (15433)
#   TOUCHLINE_SECURE_TIMEOUT    seconds to wait for each start-up (default 120)
#   PG_BIN                      PostgreSQL binaries (default /usr/lib/postgresql/15/bin)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ASSETS_DIR="$SCRIPT_DIR/services"
CACHE_DIR="${TOUCHLINE_SERVICES_HOME:-$HOME/.cache/touchline-services}"
RUN_DIR="${TOUCHLINE_SECURE_RUN:-/tmp/touchline-secure}"
KAFKA_VERSION="${KAFKA_VERSION:-4.1.2}"
DEPENDENCY_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

KAFKA_PORT="${SECURE_KAFKA_PORT:-19192}"
KAFKA_CONTROLLER_PORT="${SECURE_KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
REDIS_PORT="${SECURE_REDIS_PORT:-16380}"
PG_PORT="${SECURE_PG_PORT:-15433}"
START_TIMEOUT="${TOUCHLINE_SECURE_TIMEOUT:-120}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"

TLS_DIR="$RUN_DIR/tls"
SECRETS="$RUN_DIR/secrets.env"
KAFKA_RUN="$RUN_DIR/kafka"
KAFKA_LOG="$RUN_DIR/kafka.log"
KAFKA_PIDFILE="$RUN_DIR/kafka.pid"
KAFKA_MARKER="-Dtouchline.service=secure-kafka@$KAFKA_PORT"
REDIS_RUN="$RUN_DIR/redis"
REDIS_LOG="$RUN_DIR/redis.log"
REDIS_PIDFILE="$REDIS_RUN/redis.pid"
PG_RUN="$RUN_DIR/postgres"
PG_DATA="$PG_RUN/data"
PG_LOG="$PG_RUN/postgres.log"

log()  { printf '[secure-services] %s\n' "$*"; }
warn() { printf '[secure-services] WARNING: %s\n' "$*" >&2; }
die()  { printf '[secure-services] ERROR: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" >/dev/null 2>&1; }
require_cmd() {
  local c
  for c in "$@"; do command -v "$c" >/dev/null 2>&1 || die "'$c' is not installed (needed by $0)"; done
}
show_log_tail() {
  echo "----- last 30 lines of $2 ($1) -----" >&2
  tail -n 30 "$2" >&2 2>/dev/null || echo "(no log file $2)" >&2
  echo "----- end of $2 -----" >&2
}
# wait_for NAME SECONDS COMMAND...: poll every 0.3 s until COMMAND succeeds; 1 on timeout.
wait_for() {
  local name="$1" deadline=$((SECONDS + $2))
  shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { warn "$name not ready after $START_TIMEOUT s"; return 1; }
    sleep 0.3
  done
}
# As root, the servers that refuse root (postgres) run as the postgres OS user.
as_service_user() {
  if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# ---------------------------------------------------------------------------------------
# Test CA, server certificate, secrets (made once per run dir)
# ---------------------------------------------------------------------------------------
ensure_tls() {
  [[ -f "$TLS_DIR/.complete" ]] && return 0
  require_cmd openssl
  local tmp
  rm -rf "$TLS_DIR"
  tmp="$(mktemp -d "$RUN_DIR/.tls-XXXXXX")"
  (
    cd "$tmp"
    local subj
    for ca in ca other-ca; do
      subj="/CN=Touchline test $ca $(date +%s)"
      openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 30 -subj "$subj" \
        -keyout "$ca.key" -out "$ca.crt" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
    done
    openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=localhost" -keyout server.key -out server.csr
    printf '%s\n' 'subjectAltName=IP:127.0.0.1,DNS:localhost' 'extendedKeyUsage=serverAuth,clientAuth' \
      'keyUsage=critical,digitalSignature,keyEncipherment' 'basicConstraints=CA:FALSE' > server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 -sha256 \
      -extfile server.ext -out server.crt
    # Kafka's PEM key store: the PKCS#8 key followed by the certificate chain, in one file.
    openssl pkcs8 -topk8 -nocrypt -in server.key -out server.pk8
    cat server.pk8 server.crt ca.crt > kafka-keystore.pem
    rm -f server.csr server.ext ca.srl ca.key other-ca.key
    chmod 600 ./*.key ./*.pk8 kafka-keystore.pem
  ) > "$tmp/openssl.log" 2>&1 || { show_log_tail openssl "$tmp/openssl.log"; die "making the test CA failed"; }
  openssl verify -CAfile "$tmp/ca.crt" "$tmp/server.crt" >/dev/null || die "server certificate does not verify"
  mv "$tmp" "$TLS_DIR"
  touch "$TLS_DIR/.complete"
  log "test CA and server certificate (SAN 127.0.0.1, localhost) made in $TLS_DIR"
}

ensure_secrets() {
  if [[ ! -s "$SECRETS" ]]; then
    local pw
    pw() { head -c 18 /dev/urandom | base64 | tr -d '/+=\n'; }
    umask 077
    {
      echo "KAFKA_ADMIN_PASSWORD=$(pw)"
      echo "KAFKA_USER=touchline"
      echo "KAFKA_PASSWORD=$(pw)"
      echo "REDIS_USER=touchline"
      echo "REDIS_PASSWORD=$(pw)"
      echo "PG_SUPER_PASSWORD=$(pw)"
      echo "PG_OWNER_PASSWORD=$(pw)"
      echo "PG_APP_PASSWORD=$(pw)"
    } > "$SECRETS.tmp"
    mv "$SECRETS.tmp" "$SECRETS"
    umask 022
  fi
  # shellcheck disable=SC1090
  source "$SECRETS"
}

# ---------------------------------------------------------------------------------------
# Kafka: SASL_SSL (SCRAM-SHA-512) for clients and between brokers, plaintext controller on loopback
# ---------------------------------------------------------------------------------------
KAFKA_LIBS=""
ensure_kafka_libs() {
  local hash dir tmp
  hash="$(sha256sum "$ASSETS_DIR/kafka-pom.xml" | cut -c1-12)"
  dir="$CACHE_DIR/kafka-$KAFKA_VERSION-$hash"
  KAFKA_LIBS="$dir/libs"
  [[ -f "$dir/.complete" ]] && return 0
  require_cmd mvn
  log "downloading Kafka $KAFKA_VERSION jars from Maven Central (as scripts/services.sh does) ..."
  mkdir -p "$CACHE_DIR/.mvn-scratch"
  tmp="$(mktemp -d "$CACHE_DIR/.kafka-XXXXXX")"
  (cd "$CACHE_DIR/.mvn-scratch" && mvn -B -ntp -q -f "$ASSETS_DIR/kafka-pom.xml" -Dkafka.version="$KAFKA_VERSION" \
      "$DEPENDENCY_PLUGIN:copy-dependencies" -DincludeScope=runtime -DoutputDirectory="$tmp/libs") \
      > "$CACHE_DIR/kafka-download.log" 2>&1 < /dev/null \
    || { rm -rf "$tmp"; show_log_tail maven "$CACHE_DIR/kafka-download.log"; die "could not download Kafka"; }
  rm -rf "$dir"
  mv "$tmp" "$dir"
  touch "$dir/.complete"
}

KAFKA_JAVA_BIN=""
pick_java() {
  local cand
  for cand in "${KAFKA_JAVA:-}" "$(command -v java || true)"; do
    [[ -n "$cand" && -x "$cand" ]] && { KAFKA_JAVA_BIN="$cand"; return 0; }
  done
  die "java (17+) not found (set KAFKA_JAVA)"
}

kafka_pid() {
  local pid
  [[ -s "$KAFKA_PIDFILE" ]] || return 0
  pid="$(cat "$KAFKA_PIDFILE")"
  [[ -r "/proc/$pid/cmdline" ]] && tr '\0' '\n' < "/proc/$pid/cmdline" | grep -xF -- "$KAFKA_MARKER" >/dev/null && echo "$pid"
  return 0
}

kafka_java() {
  "$KAFKA_JAVA_BIN" -Xmx256m -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$ASSETS_DIR/log4j2.properties" -Dtouchline.log.level="${KAFKA_TOOL_LOG:-ERROR}" \
    -cp "$KAFKA_LIBS/*" "$@"
}

# The broker answers an admin request over SASL_SSL, as the admin user, verifying its certificate.
kafka_healthy() {
  [[ -n "$(kafka_pid)" && -f "$KAFKA_RUN/admin.properties" ]] || return 1
  timeout 30 "$KAFKA_JAVA_BIN" -Xmx256m -Dlog4j2.configurationFile="$ASSETS_DIR/log4j2.properties" \
    -Dtouchline.log.level=ERROR -cp "$KAFKA_LIBS/*" org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "127.0.0.1:$KAFKA_PORT" --command-config "$KAFKA_RUN/admin.properties" --list >/dev/null 2>&1
}

write_kafka_config() {
  local scram="org.apache.kafka.common.security.scram.ScramLoginModule required"
  cat > "$KAFKA_RUN/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=SASL_SSL://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=SASL_SSL://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_SSL
listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=$scram username="admin" password="$KAFKA_ADMIN_PASSWORD";
ssl.keystore.type=PEM
ssl.keystore.location=$TLS_DIR/kafka-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$TLS_DIR/ca.crt
ssl.client.auth=none
log.dirs=$KAFKA_RUN/data
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
num.partitions=3
EOF
  cat > "$KAFKA_RUN/admin.properties" <<EOF
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=$scram username="admin" password="$KAFKA_ADMIN_PASSWORD";
ssl.truststore.type=PEM
ssl.truststore.location=$TLS_DIR/ca.crt
EOF
  chmod 600 "$KAFKA_RUN/server.properties" "$KAFKA_RUN/admin.properties"
}

# A fresh cluster on every start: format with both SCRAM users, then launch.
start_kafka() {
  local t0 id
  t0="$(now)"
  rm -rf "$KAFKA_RUN"
  mkdir -p "$KAFKA_RUN/data"
  write_kafka_config
  id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n' | sed 's/^-/A/')"
  kafka_java kafka.tools.StorageTool format -t "$id" -c "$KAFKA_RUN/server.properties" \
      --add-scram "SCRAM-SHA-512=[name=admin,password=$KAFKA_ADMIN_PASSWORD]" \
      --add-scram "SCRAM-SHA-512=[name=$KAFKA_USER,password=$KAFKA_PASSWORD]" \
      > "$KAFKA_RUN/format.log" 2>&1 \
    || { show_log_tail "kafka storage format" "$KAFKA_RUN/format.log"; die "formatting Kafka storage failed"; }
  [[ -f "$KAFKA_LOG" ]] && mv -f "$KAFKA_LOG" "$KAFKA_LOG.prev"
  (
    cd "$KAFKA_RUN"
    # shellcheck disable=SC2016  # $$, $0 and $@ are the inner sh's
    exec setsid nohup sh -c 'echo $$ > "$0"; exec "$@"' "$KAFKA_PIDFILE" \
      "$KAFKA_JAVA_BIN" "$KAFKA_MARKER" -Xms128m -Xmx512m -XX:+UseG1GC -XX:+ExitOnOutOfMemoryError \
      -Djava.awt.headless=true -Dlog4j2.configurationFile="$ASSETS_DIR/log4j2.properties" \
      -Dtouchline.log.level=INFO -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_RUN/server.properties" \
      > "$KAFKA_LOG" 2>&1 < /dev/null
  ) &
  wait_for "Kafka pid file" 5 test -s "$KAFKA_PIDFILE" || die "could not launch Kafka"
  local deadline=$((SECONDS + START_TIMEOUT))
  until grep -q 'Kafka Server started' "$KAFKA_LOG" 2>/dev/null && kafka_healthy; do
    [[ -n "$(kafka_pid)" ]] || { show_log_tail kafka "$KAFKA_LOG"; die "secure Kafka exited during start-up"; }
    ((SECONDS < deadline)) || { show_log_tail kafka "$KAFKA_LOG"; stop_kafka; die "secure Kafka not ready after $START_TIMEOUT s"; }
    sleep 0.5
  done
  log "Kafka (SASL_SSL, SCRAM-SHA-512) ready on 127.0.0.1:$KAFKA_PORT in $(since "$t0") s"
}

stop_kafka() {
  local pid
  pid="$(kafka_pid)"
  [[ -n "$pid" ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || { rm -f "$KAFKA_PIDFILE"; log "Kafka stopped"; return 0; }; sleep 0.1; done
  warn "Kafka (pid $pid) did not stop in 30 s, SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$KAFKA_PIDFILE"
}

# ---------------------------------------------------------------------------------------
# Redis: TLS only, ACL user, default user off
# ---------------------------------------------------------------------------------------
redis_pid() {
  local pid
  [[ -s "$REDIS_PIDFILE" ]] || return 0
  pid="$(cat "$REDIS_PIDFILE")"
  [[ -r "/proc/$pid/cmdline" ]] && grep -a -- ":$REDIS_PORT" "/proc/$pid/cmdline" >/dev/null && echo "$pid"
  return 0
}
redis_healthy() {
  [[ -n "$(redis_pid)" ]] || return 1
  [[ "$(REDISCLI_AUTH="$REDIS_PASSWORD" timeout 5 redis-cli --tls --cacert "$TLS_DIR/ca.crt" -h 127.0.0.1 \
        -p "$REDIS_PORT" --user "$REDIS_USER" --no-auth-warning ping 2>/dev/null || true)" == PONG ]]
}

start_redis() {
  local t0
  t0="$(now)"
  rm -rf "$REDIS_RUN"
  mkdir -p "$REDIS_RUN"
  umask 077
  cat > "$REDIS_RUN/redis.conf" <<EOF
bind 127.0.0.1
port 0
tls-port $REDIS_PORT
tls-cert-file $TLS_DIR/server.crt
tls-key-file $TLS_DIR/server.key
tls-ca-cert-file $TLS_DIR/ca.crt
# Clients authenticate with a password (ACL), not with a client certificate.
tls-auth-clients no
daemonize yes
pidfile $REDIS_PIDFILE
logfile $REDIS_LOG
dir $REDIS_RUN
save ""
appendonly no
maxmemory 128mb
maxmemory-policy noeviction
user default off
user $REDIS_USER on >$REDIS_PASSWORD ~* &* +@all
EOF
  umask 022
  redis-server "$REDIS_RUN/redis.conf" || { show_log_tail redis "$REDIS_LOG"; die "redis-server did not start"; }
  wait_for "secure Redis" "$START_TIMEOUT" redis_healthy || { show_log_tail redis "$REDIS_LOG"; stop_redis; die "secure Redis did not start"; }
  log "Redis (TLS only, ACL user $REDIS_USER) ready on 127.0.0.1:$REDIS_PORT in $(since "$t0") s"
}

stop_redis() {
  local pid
  pid="$(redis_pid)"
  [[ -n "$pid" ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || { log "Redis stopped"; return 0; }; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------
# PostgreSQL: own cluster, ssl=on, hostssl + scram-sha-256 only
# ---------------------------------------------------------------------------------------
pg_superuser_url() {
  echo "host=127.0.0.1 port=$PG_PORT user=postgres dbname=${1:-postgres} sslmode=verify-full sslrootcert=$TLS_DIR/ca.crt"
}
pg_healthy() {
  [[ -f "$PG_DATA/postmaster.pid" ]] || return 1
  [[ "$(PGPASSWORD="$PG_SUPER_PASSWORD" PGCONNECT_TIMEOUT=5 "$PG_BIN/psql" "$(pg_superuser_url touchline)" -tAc 'select 1' 2>/dev/null || true)" == 1 ]]
}

start_postgres() {
  local t0
  t0="$(now)"
  [[ -x "$PG_BIN/initdb" ]] || die "PostgreSQL binaries not found in $PG_BIN (set PG_BIN)"
  as_service_user "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$PG_RUN"
  mkdir -p "$PG_RUN"
  install -m 600 "$TLS_DIR/server.key" "$PG_RUN/server.key"
  cp "$TLS_DIR/server.crt" "$PG_RUN/server.crt"
  printf '%s\n' "$PG_SUPER_PASSWORD" > "$PG_RUN/pwfile"
  chmod 600 "$PG_RUN/pwfile"
  [[ "$(id -u)" == 0 ]] && chown -R postgres: "$PG_RUN"
  as_service_user "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --pwfile="$PG_RUN/pwfile" \
      --auth=scram-sha-256 -E UTF8 --locale=C.UTF-8 > "$PG_RUN/initdb.log" 2>&1 \
    || { show_log_tail initdb "$PG_RUN/initdb.log"; die "initdb failed"; }
  rm -f "$PG_RUN/pwfile"
  cat > "$PG_DATA/pg_hba.conf" <<EOF
# TYPE    DATABASE USER ADDRESS       METHOD
local     all      all                scram-sha-256
hostssl   all      all  127.0.0.1/32  scram-sha-256
hostssl   all      all  ::1/128       scram-sha-256
hostnossl all      all  0.0.0.0/0     reject
hostnossl all      all  ::/0          reject
EOF
  cat >> "$PG_DATA/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_RUN'
ssl = on
ssl_cert_file = '$PG_RUN/server.crt'
ssl_key_file = '$PG_RUN/server.key'
ssl_min_protocol_version = 'TLSv1.2'
password_encryption = 'scram-sha-256'
max_connections = 60
shared_buffers = 32MB
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  [[ "$(id -u)" == 0 ]] && chown postgres: "$PG_DATA/pg_hba.conf" "$PG_DATA/postgresql.conf"
  as_service_user "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$START_TIMEOUT" start >/dev/null \
    || { show_log_tail postgres "$PG_LOG"; die "secure PostgreSQL did not start"; }
  # Roles: the owner applies migrations (DDL); the app role gets DML on whatever the owner creates.
  PGPASSWORD="$PG_SUPER_PASSWORD" "$PG_BIN/psql" "$(pg_superuser_url)" -q -v ON_ERROR_STOP=1 \
      -v owner_pw="$PG_OWNER_PASSWORD" -v app_pw="$PG_APP_PASSWORD" > "$PG_RUN/setup.log" 2>&1 <<'EOF' \
    || { show_log_tail "postgres set-up" "$PG_RUN/setup.log"; die "creating the roles failed"; }
CREATE ROLE touchline_owner LOGIN PASSWORD :'owner_pw';
CREATE ROLE touchline_app LOGIN PASSWORD :'app_pw';
CREATE DATABASE touchline OWNER touchline_owner;
\connect touchline
REVOKE ALL ON DATABASE touchline FROM PUBLIC;
GRANT CONNECT ON DATABASE touchline TO touchline_app;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE touchline_owner GRANT USAGE ON SCHEMAS TO touchline_app;
ALTER DEFAULT PRIVILEGES FOR ROLE touchline_owner GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO touchline_app;
EOF
  log "PostgreSQL (ssl=on, hostssl scram-sha-256) ready on 127.0.0.1:$PG_PORT in $(since "$t0") s"
}

stop_postgres() {
  [[ -f "$PG_DATA/postmaster.pid" ]] || return 0
  as_service_user "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 30 stop >/dev/null 2>&1 \
    || as_service_user "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate stop >/dev/null 2>&1 || true
  log "PostgreSQL stopped"
}

# ---------------------------------------------------------------------------------------
# Subcommands
# ---------------------------------------------------------------------------------------
ports_free() {
  while (($# >= 2)); do
    port_open "$2" && die "port $2 ($1) is in use by another process; pick another with $1=..."
    shift 2
  done
  return 0
}

cmd_up() {
  require_cmd openssl redis-server redis-cli timeout setsid nohup awk sha256sum
  mkdir -p "$RUN_DIR"
  chmod 755 "$RUN_DIR"
  ensure_tls
  ensure_secrets
  pick_java
  ensure_kafka_libs
  local t0
  t0="$(now)"
  # Redis and Postgres start in a second or two; Kafka (a JVM) is started last and its
  # formatting overlaps nothing, which is simplest to reason about on 2 cores.
  if redis_healthy; then log "Redis already running on $REDIS_PORT"; else
    stop_redis; ports_free SECURE_REDIS_PORT "$REDIS_PORT"; start_redis
  fi
  if pg_healthy; then log "PostgreSQL already running on $PG_PORT"; else
    stop_postgres; ports_free SECURE_PG_PORT "$PG_PORT"; start_postgres
  fi
  if kafka_healthy; then log "Kafka already running on $KAFKA_PORT"; else
    stop_kafka; ports_free SECURE_KAFKA_PORT "$KAFKA_PORT" SECURE_KAFKA_CONTROLLER_PORT "$KAFKA_CONTROLLER_PORT"; start_kafka
  fi
  log "secure services up in $(since "$t0") s. Use: eval \"\$($0 env)\""
}

cmd_down() {
  [[ -s "$SECRETS" ]] && source "$SECRETS"
  stop_kafka
  stop_redis
  stop_postgres
}

cmd_status() {
  [[ -s "$SECRETS" ]] || { echo "kafka: down"; echo "redis: down"; echo "postgres: down"; return 1; }
  source "$SECRETS"
  pick_java
  KAFKA_LIBS="$CACHE_DIR/kafka-$KAFKA_VERSION-$(sha256sum "$ASSETS_DIR/kafka-pom.xml" | cut -c1-12)/libs"
  local rc=0
  if kafka_healthy; then echo "kafka:    up   (SASL_SSL 127.0.0.1:$KAFKA_PORT)"; else echo "kafka:    down"; rc=1; fi
  if redis_healthy; then echo "redis:    up   (TLS 127.0.0.1:$REDIS_PORT)"; else echo "redis:    down"; rc=1; fi
  if pg_healthy; then echo "postgres: up   (SSL 127.0.0.1:$PG_PORT)"; else echo "postgres: down"; rc=1; fi
  return "$rc"
}

cmd_env() {
  ensure_secrets_exist
  cat <<EOF
export SECURE_CA_FILE=$TLS_DIR/ca.crt
export SECURE_OTHER_CA_FILE=$TLS_DIR/other-ca.crt
export SECURE_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
export SECURE_KAFKA_USERNAME=$KAFKA_USER
export SECURE_KAFKA_PASSWORD=$KAFKA_PASSWORD
export SECURE_REDIS_URL=rediss://$REDIS_USER:$REDIS_PASSWORD@127.0.0.1:$REDIS_PORT
export SECURE_PG_OWNER_URL=postgres://touchline_owner:$PG_OWNER_PASSWORD@127.0.0.1:$PG_PORT/touchline
export SECURE_PG_APP_URL=postgres://touchline_app:$PG_APP_PASSWORD@127.0.0.1:$PG_PORT/touchline
EOF
}
ensure_secrets_exist() {
  [[ -s "$SECRETS" && -f "$TLS_DIR/.complete" ]] || die "no secrets yet in $RUN_DIR: run '$0 up' first"
  source "$SECRETS"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  -h|--help|help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
