#!/usr/bin/env bash
# Install (if missing) and start the backing services on loopback:
#   Redis (redis-server)             127.0.0.1:6380   password auth
#   RabbitMQ 3.10 + management       127.0.0.1:5672 (AMQP), 127.0.0.1:15672 (HTTP)
#   MongoDB wire (SecantusDB)        127.0.0.1:27017  SCRAM auth, root user
# then write the connection settings to <repo>/.machina/backing.env.
#
# Idempotent: services that already answer with the stored credentials are
# left alone. Credentials are generated once into .machina/secrets.env and
# never printed. Logs: .machina/logs/. Stop everything with devenv/down.sh.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

UP_START="$(now)"

# --- packages -----------------------------------------------------------------

apt_has_lists() {
    compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null
}

# apt_install PACKAGE...: install Debian packages without starting services
# (there is no systemd here; a package's postinst must not start its daemon).
apt_install() {
    if ((EUID != 0)); then
        die "missing Debian packages: $*; run 'sudo apt-get install -y $*' or run devenv/up.sh as root"
    fi
    local started policy=/usr/sbin/policy-rc.d created_policy=0 ok=0
    started="$(now)"
    if [[ ! -e "$policy" ]]; then
        printf '#!/bin/sh\n# written by devenv/up.sh for the duration of apt-get install\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        created_policy=1
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    export DEBIAN_FRONTEND=noninteractive
    log "apt-get install $* (log: $LOG_DIR/apt.log)"
    if apt_has_lists && apt-get install -y -q --no-install-recommends "$@" >>"$LOG_DIR/apt.log" 2>&1; then
        ok=1
    else
        log "apt-get update (package lists missing or stale)"
        if apt-get update -q >>"$LOG_DIR/apt.log" 2>&1 &&
            apt-get install -y -q --no-install-recommends "$@" >>"$LOG_DIR/apt.log" 2>&1; then
            ok=1
        fi
    fi
    if ((created_policy)); then
        rm -f "$policy"
        trap - EXIT
    fi
    ((ok)) || die "apt-get install $* failed; see $LOG_DIR/apt.log"
    log "apt-get install took $(elapsed "$started")s"
}

ensure_packages() {
    local missing=()
    command -v redis-server >/dev/null || missing+=(redis-server)
    command -v redis-cli >/dev/null || missing+=(redis-tools)
    [[ -x "$RABBITMQ_BIN/rabbitmq-server" ]] || missing+=(rabbitmq-server)
    command -v curl >/dev/null || missing+=(curl)
    command -v python3 >/dev/null || missing+=(python3)
    if ((${#missing[@]} > 0)); then
        apt_install "${missing[@]}"
    fi
}

# The SecantusDB server and pymongo (for bootstrapping) live in .machina/venv.
ensure_venv() {
    local stamp="$VENV/.machina-requirements" want py started
    want="$(sha256sum <"$DEVENV_DIR/requirements.txt" | cut -d' ' -f1)"
    if [[ -x "$VENV/bin/secantusd-py" && -f "$stamp" && "$(<"$stamp")" == "$want" ]]; then
        return 0
    fi
    started="$(now)"
    py="${MACHINA_PYTHON:-python3}"
    if [[ ! -x "$VENV/bin/python" ]]; then
        if ! "$py" -m venv "$VENV" >>"$LOG_DIR/pip.log" 2>&1; then
            # Debian's own python3 needs python3-venv for ensurepip.
            rm -rf "$VENV"
            apt_install python3-venv
            "$py" -m venv "$VENV" >>"$LOG_DIR/pip.log" 2>&1 ||
                die "'$py -m venv $VENV' failed; see $LOG_DIR/pip.log"
        fi
    fi
    log "pip install -r devenv/requirements.txt into .machina/venv (log: $LOG_DIR/pip.log)"
    "$VENV/bin/python" -m pip install -q -r "$DEVENV_DIR/requirements.txt" >>"$LOG_DIR/pip.log" 2>&1 ||
        die "pip install into $VENV failed; see $LOG_DIR/pip.log"
    [[ -x "$VENV/bin/secantusd-py" ]] || die "SecantusDB installed but $VENV/bin/secantusd-py is missing; see $LOG_DIR/pip.log"
    printf '%s\n' "$want" >"$stamp"
    log "pip install took $(elapsed "$started")s"
}

# --- credentials --------------------------------------------------------------

gen_password() {
    od -An -tx1 -N24 /dev/urandom | tr -d ' \n'
}

# Generate the passwords once; reuse them on every later run.
ensure_secrets() {
    unset REDIS_PASSWORD RABBITMQ_PASSWORD MONGODB_ROOT_PASSWORD
    load_secrets
    if [[ -n "${REDIS_PASSWORD:-}" && -n "${RABBITMQ_PASSWORD:-}" && -n "${MONGODB_ROOT_PASSWORD:-}" ]]; then
        return 0
    fi
    log "generating credentials into .machina/secrets.env"
    REDIS_PASSWORD="${REDIS_PASSWORD:-$(gen_password)}"
    RABBITMQ_PASSWORD="${RABBITMQ_PASSWORD:-$(gen_password)}"
    MONGODB_ROOT_PASSWORD="${MONGODB_ROOT_PASSWORD:-$(gen_password)}"
    (
        umask 077
        {
            echo "# Generated once by devenv/up.sh. Delete .machina/ to start over."
            echo "REDIS_PASSWORD=$REDIS_PASSWORD"
            echo "RABBITMQ_PASSWORD=$RABBITMQ_PASSWORD"
            echo "MONGODB_ROOT_PASSWORD=$MONGODB_ROOT_PASSWORD"
        } >"$SECRETS_FILE.tmp"
        mv "$SECRETS_FILE.tmp" "$SECRETS_FILE"
    )
}

# --- Redis --------------------------------------------------------------------

write_redis_conf() {
    (
        umask 077
        mkdir -p "$REDIS_DIR"
        cat >"$REDIS_DIR/redis.conf.tmp" <<EOF
# Written by devenv/up.sh on every run; edit lib.sh/up.sh instead.
bind 127.0.0.1
port $REDIS_PORT
protected-mode yes
daemonize yes
pidfile "$REDIS_PID"
logfile "$REDIS_LOG"
dir "$REDIS_DIR"
requirepass "$REDIS_PASSWORD"
EOF
        mv "$REDIS_DIR/redis.conf.tmp" "$REDIS_DIR/redis.conf"
    )
}

redis_ready() {
    local reply
    reply="$(REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" || return 1
    [[ "$reply" == "PONG" ]]
}

ensure_redis() {
    write_redis_conf
    if pid_alive "$REDIS_PID" redis-server; then
        if redis_ready; then
            log "redis: already running on 127.0.0.1:$REDIS_PORT"
            return 0
        fi
        log "redis: running but not answering with the stored password; restarting it"
        stop_pid redis "$REDIS_PID" redis-server 30
    fi
    if port_open "$REDIS_PORT"; then
        die "redis: port 127.0.0.1:$REDIS_PORT is taken by a process that is not ours; stop it or set MACHINA_REDIS_PORT"
    fi
    log "redis: starting on 127.0.0.1:$REDIS_PORT (log: $REDIS_LOG)"
    redis-server "$REDIS_DIR/redis.conf" >>"$REDIS_LOG" 2>&1 ||
        die "redis-server failed to start; see $REDIS_LOG"
    wait_until "Redis on 127.0.0.1:$REDIS_PORT" "$REDIS_LOG" "$STARTUP_TIMEOUT" redis_ready
}

# --- RabbitMQ -----------------------------------------------------------------

write_rabbitmq_conf() {
    (
        umask 077
        mkdir -p "$RABBITMQ_DIR/home" "$RABBITMQ_DIR/mnesia" "$RABBITMQ_LOG_DIR"
        # default_user only applies when the node's database is created; the
        # admin user is re-checked against the stored password on every run.
        cat >"$RABBITMQ_DIR/rabbitmq.conf.tmp" <<EOF
# Written by devenv/up.sh on every run.
listeners.tcp.default = 127.0.0.1:$AMQP_PORT
management.tcp.ip = 127.0.0.1
management.tcp.port = $RABBITMQ_MANAGEMENT_PORT
default_user = $RABBITMQ_USERNAME
default_pass = $RABBITMQ_PASSWORD
default_user_tags.administrator = true
default_permissions.configure = .*
default_permissions.read = .*
default_permissions.write = .*
EOF
        mv "$RABBITMQ_DIR/rabbitmq.conf.tmp" "$RABBITMQ_DIR/rabbitmq.conf"
        echo '[rabbitmq_management].' >"$RABBITMQ_DIR/enabled_plugins"
    )
}

# rabbitmq_api METHOD PATH: call the management API as the admin user and
# print the HTTP status. The password goes to curl on stdin, not in argv.
rabbitmq_api() {
    curl -s -o /dev/null -w '%{http_code}' -X "$1" -K - \
        "http://127.0.0.1:$RABBITMQ_MANAGEMENT_PORT$2" <<<"user = \"$RABBITMQ_USERNAME:$RABBITMQ_PASSWORD\"" || true
}

rabbitmq_ready() {
    [[ "$(rabbitmq_api GET /api/whoami)" == "200" ]] && port_open "$AMQP_PORT"
}

rabbitmq_registered() {
    epmd -names 2>/dev/null | grep -q '^name machina at port'
}

# Reset the admin user through rabbitmqctl (used only when the stored
# password does not match the node's database, e.g. after secrets.env was
# regenerated). rabbitmqctl takes the password as an argument.
rabbitmq_reset_user() {
    log "rabbitmq: (re)setting the admin user '$RABBITMQ_USERNAME'"
    (
        rabbitmq_env
        if rabbitmqctl_ -q list_users | awk '{print $1}' | grep -qx "$RABBITMQ_USERNAME"; then
            rabbitmqctl_ -q change_password "$RABBITMQ_USERNAME" "$RABBITMQ_PASSWORD"
        else
            rabbitmqctl_ -q add_user "$RABBITMQ_USERNAME" "$RABBITMQ_PASSWORD"
        fi
        rabbitmqctl_ -q set_user_tags "$RABBITMQ_USERNAME" administrator
        rabbitmqctl_ -q set_permissions -p / "$RABBITMQ_USERNAME" '.*' '.*' '.*'
    ) >>"$RABBITMQ_STARTUP_LOG" 2>&1 || die "rabbitmq: could not set up user '$RABBITMQ_USERNAME'; see $RABBITMQ_STARTUP_LOG"
}

ensure_rabbitmq() {
    write_rabbitmq_conf
    if pid_alive "$RABBITMQ_PID" beam; then
        if rabbitmq_ready; then
            log "rabbitmq: already running on 127.0.0.1:$AMQP_PORT (management 127.0.0.1:$RABBITMQ_MANAGEMENT_PORT)"
            rabbitmq_no_guest
            return 0
        fi
        log "rabbitmq: node is running; waiting for it to finish starting"
    else
        rm -f "$RABBITMQ_PID"
        local port
        for port in "$AMQP_PORT" "$RABBITMQ_MANAGEMENT_PORT" "$RABBITMQ_DIST_PORT_VALUE"; do
            if port_open "$port"; then
                die "rabbitmq: port 127.0.0.1:$port is taken by a process that is not ours (a system RabbitMQ?); stop it or set MACHINA_AMQP_PORT / MACHINA_RABBITMQ_MANAGEMENT_PORT / MACHINA_RABBITMQ_DIST_PORT"
            fi
        done
        if ! port_open 4369; then
            epmd -address 127.0.0.1 -daemon </dev/null >>"$RABBITMQ_STARTUP_LOG" 2>&1
        fi
        log "rabbitmq: starting node machina@localhost (log: $RABBITMQ_LOG_DIR/)"
        (
            rabbitmq_env
            cd "$RABBITMQ_DIR"
            "$RABBITMQ_BIN/rabbitmq-server" -detached
        ) >>"$RABBITMQ_STARTUP_LOG" 2>&1 || die "rabbitmq-server -detached failed; see $RABBITMQ_STARTUP_LOG"
    fi
    wait_until "RabbitMQ node machina@localhost" "$RABBITMQ_STARTUP_LOG" "$STARTUP_TIMEOUT" rabbitmq_registered
    (
        rabbitmq_env
        rabbitmqctl_ -q await_startup --timeout "$STARTUP_TIMEOUT"
    ) >>"$RABBITMQ_STARTUP_LOG" 2>&1 ||
        die "RabbitMQ did not finish starting within ${STARTUP_TIMEOUT}s; see $RABBITMQ_LOG_DIR/machina@localhost.log and $RABBITMQ_STARTUP_LOG"
    if [[ "$(rabbitmq_api GET /api/whoami)" == "401" ]]; then
        rabbitmq_reset_user
    fi
    wait_until "RabbitMQ (AMQP 127.0.0.1:$AMQP_PORT, management 127.0.0.1:$RABBITMQ_MANAGEMENT_PORT)" \
        "$RABBITMQ_LOG_DIR/machina@localhost.log" "$STARTUP_TIMEOUT" rabbitmq_ready
    rabbitmq_no_guest
}

# The default 'guest' user must not exist on our node.
rabbitmq_no_guest() {
    if [[ "$(rabbitmq_api GET /api/users/guest)" == "200" ]]; then
        log "rabbitmq: deleting user 'guest'"
        [[ "$(rabbitmq_api DELETE /api/users/guest)" == "204" ]] || die "rabbitmq: could not delete user 'guest'"
    fi
}

# --- MongoDB wire (SecantusDB) ------------------------------------------------

mongo_admin() {
    MACHINA_MONGODB_ROOT_USERNAME="$MONGODB_ROOT_USERNAME" \
        MACHINA_MONGODB_ROOT_PASSWORD="$MONGODB_ROOT_PASSWORD" \
        "$VENV/bin/python" "$DEVENV_DIR/mongo_admin.py" "$1" "$MONGODB_PORT" 2>>"$MONGODB_LOG"
}

mongodb_ready() {
    port_open "$MONGODB_PORT" && mongo_admin ping
}

# start_mongodb [--auth]: run secantusd-py in the background, loopback only.
start_mongodb() {
    # An explicit (empty) config file turns off secantusd.toml auto-discovery
    # (./, ~/.secantus/, /etc/secantus/), so only our flags apply.
    : >"$MONGODB_DIR/secantusd.toml"
    (
        cd "$MONGODB_DIR"
        exec setsid "$VENV/bin/secantusd-py" --config "$MONGODB_DIR/secantusd.toml" \
            --host 127.0.0.1 --port "$MONGODB_PORT" --storage-path "$MONGODB_DATA" \
            --log-level INFO "$@"
    ) </dev/null >>"$MONGODB_LOG" 2>&1 &
    echo "$!" >"$MONGODB_PID"
    wait_until "MongoDB (SecantusDB) on 127.0.0.1:$MONGODB_PORT" "$MONGODB_LOG" "$STARTUP_TIMEOUT" mongodb_ready
}

stop_mongodb() {
    stop_pid mongodb "$MONGODB_PID" secantusd-py 60
}

# SecantusDB has no localhost exception: the root user is created while the
# server runs without --auth (on loopback), then it is restarted with --auth.
bootstrap_mongodb_root() {
    log "mongodb: creating the root user (brief start without --auth on 127.0.0.1)"
    start_mongodb
    mongo_admin create-root || die "mongodb: creating the root user failed; see $MONGODB_LOG"
    stop_mongodb
    touch "$MONGODB_BOOTSTRAPPED"
}

ensure_mongodb() {
    mkdir -p "$MONGODB_DATA"
    if pid_alive "$MONGODB_PID" secantusd-py; then
        if [[ -f "$MONGODB_BOOTSTRAPPED" ]] && mongodb_ready && mongo_admin check-auth; then
            log "mongodb: already running on 127.0.0.1:$MONGODB_PORT"
            return 0
        fi
        log "mongodb: running but the stored root credentials do not work; resetting the root user"
        stop_mongodb
        rm -f "$MONGODB_BOOTSTRAPPED"
    fi
    if port_open "$MONGODB_PORT"; then
        die "mongodb: port 127.0.0.1:$MONGODB_PORT is taken by a process that is not ours; stop it or set MACHINA_MONGODB_PORT"
    fi
    if [[ ! -f "$MONGODB_BOOTSTRAPPED" ]]; then
        bootstrap_mongodb_root
    fi
    log "mongodb: starting SecantusDB with --auth on 127.0.0.1:$MONGODB_PORT (log: $MONGODB_LOG)"
    start_mongodb --auth
    if ! mongo_admin check-auth; then
        # The data dir knows another root password (secrets.env was replaced):
        # reset it the same way it was created.
        log "mongodb: the stored root password was rejected; resetting it"
        stop_mongodb
        bootstrap_mongodb_root
        start_mongodb --auth
        mongo_admin check-auth || die "mongodb: root credentials rejected after reset; see $MONGODB_LOG"
    fi
}

# --- settings -----------------------------------------------------------------

write_backing_env() {
    (
        umask 077
        cat >"$BACKING_ENV.tmp" <<EOF
# Written by devenv/up.sh: connection settings for the local backing services.
# Contains credentials; do not commit. Shell: set -a; . .machina/backing.env; set +a
MACHINA_MONGODB_URI=mongodb://$MONGODB_ROOT_USERNAME:$MONGODB_ROOT_PASSWORD@127.0.0.1:$MONGODB_PORT/?authSource=admin
MACHINA_REDIS_URL=redis://:$REDIS_PASSWORD@127.0.0.1:$REDIS_PORT/
MACHINA_AMQP_URL=amqp://$RABBITMQ_USERNAME:$RABBITMQ_PASSWORD@127.0.0.1:$AMQP_PORT/%2f
MACHINA_RABBITMQ_MANAGEMENT_URL=http://127.0.0.1:$RABBITMQ_MANAGEMENT_PORT
MACHINA_RABBITMQ_USERNAME=$RABBITMQ_USERNAME
MACHINA_RABBITMQ_PASSWORD=$RABBITMQ_PASSWORD
EOF
        mv "$BACKING_ENV.tmp" "$BACKING_ENV"
    )
}

main() {
    mkdir -p "$MACHINA_STATE" "$LOG_DIR" "$RUN_DIR"
    chmod 700 "$MACHINA_STATE"
    ensure_packages
    ensure_venv
    ensure_secrets
    ensure_redis
    ensure_rabbitmq
    ensure_mongodb
    write_backing_env
    log "up in $(elapsed "$UP_START")s: Redis 127.0.0.1:$REDIS_PORT, RabbitMQ 127.0.0.1:$AMQP_PORT" \
        "(management http://127.0.0.1:$RABBITMQ_MANAGEMENT_PORT), MongoDB 127.0.0.1:$MONGODB_PORT"
    log "settings: $BACKING_ENV (stop with devenv/down.sh)"
}

main "$@"
