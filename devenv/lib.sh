# shellcheck shell=bash disable=SC2034  # variables are used by the scripts that source this
# Shared definitions for devenv/up.sh and devenv/down.sh. Sourced, never run.
#
# Everything the backing services keep (data, logs, PID files, credentials)
# lives under $MACHINA_STATE, i.e. <repo>/.machina/, which is gitignored.

DEVENV_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$DEVENV_DIR/.." && pwd)"
MACHINA_STATE="$REPO_ROOT/.machina"
LOG_DIR="$MACHINA_STATE/logs"
RUN_DIR="$MACHINA_STATE/run"
SECRETS_FILE="$MACHINA_STATE/secrets.env"
BACKING_ENV="$MACHINA_STATE/backing.env"
VENV="$MACHINA_STATE/venv"

# Ports (loopback only). Override with the environment when they clash.
REDIS_PORT="${MACHINA_REDIS_PORT:-6380}"
MONGODB_PORT="${MACHINA_MONGODB_PORT:-27017}"
AMQP_PORT="${MACHINA_AMQP_PORT:-5672}"
RABBITMQ_MANAGEMENT_PORT="${MACHINA_RABBITMQ_MANAGEMENT_PORT:-15672}"
RABBITMQ_DIST_PORT_VALUE="${MACHINA_RABBITMQ_DIST_PORT:-25672}"

# How long to wait for each service to answer, in seconds.
STARTUP_TIMEOUT="${MACHINA_DEVENV_TIMEOUT:-120}"

RABBITMQ_USERNAME="machina"
MONGODB_ROOT_USERNAME="root"
RABBITMQ_BIN="/usr/lib/rabbitmq/bin"

REDIS_DIR="$MACHINA_STATE/redis"
REDIS_PID="$RUN_DIR/redis.pid"
REDIS_LOG="$LOG_DIR/redis.log"

RABBITMQ_DIR="$MACHINA_STATE/rabbitmq"
RABBITMQ_PID="$RUN_DIR/rabbitmq.pid"
RABBITMQ_LOG_DIR="$LOG_DIR/rabbitmq"
RABBITMQ_STARTUP_LOG="$LOG_DIR/rabbitmq-startup.log"

MONGODB_DIR="$MACHINA_STATE/mongodb"
MONGODB_DATA="$MONGODB_DIR/data"
MONGODB_PID="$RUN_DIR/mongodb.pid"
MONGODB_LOG="$LOG_DIR/mongodb.log"
MONGODB_BOOTSTRAPPED="$MONGODB_DIR/root-user-created"

log() {
    printf '[devenv] %s\n' "$*" >&2
}

die() {
    printf '[devenv] ERROR: %s\n' "$*" >&2
    exit 1
}

# Milliseconds since the epoch, for timings.
now() {
    echo $(($(date +%s%N) / 1000000))
}

# elapsed START: seconds since START (from now), with one decimal.
elapsed() {
    local ms=$(($(now) - $1))
    printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100))
}

# pid_alive FILE PATTERN: the process named in FILE exists and its command
# line contains PATTERN (so a stale PID file that names a reused PID is not
# mistaken for our server).
pid_alive() {
    local pid cmdline
    [[ -s "$1" ]] || return 1
    pid="$(tr -dc '0-9' <"$1")"
    if [[ -z "$pid" ]] || ! kill -0 "$pid" 2>/dev/null; then
        return 1
    fi
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
    [[ "$cmdline" == *"$2"* ]]
}

# pid_of FILE: print the PID stored in FILE (digits only).
pid_of() {
    tr -dc '0-9' <"$1"
}

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_until DESCRIPTION LOGFILE TIMEOUT COMMAND...: retry COMMAND every
# 0.2 s until it succeeds; fail with a pointer to LOGFILE after TIMEOUT s.
wait_until() {
    local what="$1" logfile="$2" timeout="$3"
    shift 3
    local deadline=$((SECONDS + timeout))
    until "$@"; do
        if ((SECONDS >= deadline)); then
            die "$what did not answer within ${timeout}s; see its log: $logfile"
        fi
        sleep 0.2
    done
}

# stop_pid NAME PIDFILE PATTERN TIMEOUT: SIGTERM the process, wait, SIGKILL
# if it is still there after TIMEOUT seconds.
stop_pid() {
    local name="$1" pidfile="$2" pattern="$3" timeout="$4" pid
    if ! pid_alive "$pidfile" "$pattern"; then
        rm -f "$pidfile"
        return 0
    fi
    pid="$(pid_of "$pidfile")"
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + timeout))
    while kill -0 "$pid" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            log "$name (pid $pid) did not stop within ${timeout}s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.5
            break
        fi
        sleep 0.2
    done
    rm -f "$pidfile"
}

# Load the generated credentials, if any, into the shell.
load_secrets() {
    if [[ -f "$SECRETS_FILE" ]]; then
        # shellcheck source=/dev/null
        source "$SECRETS_FILE"
    fi
}

# Environment for RabbitMQ's own scripts: a private node under .machina/,
# bound to loopback, ignoring the system-wide /etc/rabbitmq settings.
rabbitmq_env() {
    export HOME="$RABBITMQ_DIR/home"
    export RABBITMQ_NODENAME="machina@localhost"
    export RABBITMQ_CONF_ENV_FILE="/dev/null"
    export RABBITMQ_CONFIG_FILE="$RABBITMQ_DIR/rabbitmq.conf"
    export RABBITMQ_ADVANCED_CONFIG_FILE="$RABBITMQ_DIR/advanced.config"
    export RABBITMQ_ENABLED_PLUGINS_FILE="$RABBITMQ_DIR/enabled_plugins"
    export RABBITMQ_MNESIA_BASE="$RABBITMQ_DIR/mnesia"
    export RABBITMQ_LOG_BASE="$RABBITMQ_LOG_DIR"
    export RABBITMQ_PID_FILE="$RABBITMQ_PID"
    export RABBITMQ_DIST_PORT="$RABBITMQ_DIST_PORT_VALUE"
    export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
    export ERL_EPMD_ADDRESS="127.0.0.1"
}

rabbitmqctl_() {
    "$RABBITMQ_BIN/rabbitmqctl" "$@"
}
