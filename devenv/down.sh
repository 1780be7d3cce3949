#!/usr/bin/env bash
# Stop the backing services started by devenv/up.sh (Redis, RabbitMQ,
# SecantusDB). Data and credentials under .machina/ are kept, so the next
# devenv/up.sh comes back with the same settings. Idempotent.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

stop_redis() {
    if pid_alive "$REDIS_PID" redis-server; then
        log "redis: stopping"
        # SIGTERM makes redis-server save (if configured) and exit cleanly.
        stop_pid redis "$REDIS_PID" redis-server 30
    else
        rm -f "$REDIS_PID"
        log "redis: not running"
    fi
}

stop_rabbitmq() {
    if pid_alive "$RABBITMQ_PID" beam; then
        log "rabbitmq: stopping node machina@localhost"
        if ! (
            rabbitmq_env
            rabbitmqctl_ -q shutdown
        ) >>"$RABBITMQ_STARTUP_LOG" 2>&1; then
            log "rabbitmq: rabbitmqctl shutdown failed (see $RABBITMQ_STARTUP_LOG); sending SIGTERM"
        fi
        stop_pid rabbitmq "$RABBITMQ_PID" beam 60
    else
        rm -f "$RABBITMQ_PID"
        log "rabbitmq: not running"
    fi
    # epmd (Erlang's port mapper) was started for our node; stop it when no
    # Erlang node is registered any more.
    if command -v epmd >/dev/null && epmd -names 2>/dev/null | grep -q 'up and running' &&
        ! epmd -names 2>/dev/null | grep -q '^name '; then
        epmd -kill >/dev/null 2>&1 || true
    fi
}

stop_mongodb() {
    if pid_alive "$MONGODB_PID" secantusd-py; then
        log "mongodb: stopping SecantusDB"
        stop_pid mongodb "$MONGODB_PID" secantusd-py 60
    else
        rm -f "$MONGODB_PID"
        log "mongodb: not running"
    fi
}

main() {
    mkdir -p "$LOG_DIR" "$RUN_DIR"
    stop_mongodb
    stop_rabbitmq
    stop_redis
    log "backing services stopped (data and credentials kept in $MACHINA_STATE; start again with devenv/up.sh)"
}

main "$@"
