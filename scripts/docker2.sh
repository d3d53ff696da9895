#!/usr/bin/env bash
# A second Docker engine for fault tests (and copies between two engines): its own dockerd, containerd,
# socket, data, exec root and cgroup parent, so that killing or restarting it never disturbs the main
# engine the other tests use. Its own empty bridge (pgdb2br0, 10.213.77.0/24, removed by `stop`) and no
# iptables rules (tests run its containers with network "none" and reach them through exec), so it cannot
# clash with the main engine's networks or rules. Never --bridge=none: dockerd then deletes the host's
# docker0 at start, breaking the main engine's default network.
#
#   scripts/docker2.sh start      start it (no-op when it answers) and load the test images it lacks
#   scripts/docker2.sh stop       stop it (no-op when it is not running); its images stay for next time
#   scripts/docker2.sh restart    stop (SIGTERM: running containers are stopped, as on a host reboot) and start
#   scripts/docker2.sh kill       SIGKILL dockerd only (containerd and the containers keep running), then start
#   scripts/docker2.sh host       print its DOCKER_HOST
# Root on Linux (Debian: docker.io installed by scripts/test-env.sh). Overridable: PGDB_DOCKER2_ROOT
# (data root), PGDB_DOCKER2_RUN (exec root, socket and pid file), PGDB_DOCKER2_IMAGES (space-separated
# images to copy from the main engine; default the two Postgres test images).
set -euo pipefail
RUN=${PGDB_DOCKER2_RUN:-/run/pgdb-docker2}
DATA=${PGDB_DOCKER2_ROOT:-/var/lib/pgdb-docker2}
SOCK="$RUN.sock"
PIDFILE="$RUN.pid"
LOGFILE=${PGDB_DOCKER2_LOG:-/var/log/pgdb-docker2.log}
HOST="unix://$SOCK"
IMAGES=${PGDB_DOCKER2_IMAGES:-"${PGDB_TEST_IMAGE_OLD:-pg-docker-backup-test/postgres:15} ${PGDB_TEST_IMAGE_NEW:-pg-docker-backup-test/postgres:17}"}
log() { printf '[docker2] %s\n' "$*" >&2; }
d2() { docker --host "$HOST" "$@"; }
answers() { d2 version >/dev/null 2>&1; }
running_pid() { # the pid of our dockerd, when it runs
  local pid
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "--pidfile=$PIDFILE" && echo "$pid"
}

start() {
  if answers; then return 0; fi
  [ "$(id -u)" = 0 ] || { log "the second Docker engine needs root (it runs its own dockerd)"; exit 1; }
  command -v dockerd >/dev/null || { log "dockerd is missing: run scripts/test-env.sh (it installs docker.io)"; exit 1; }
  if pid=$(running_pid); then log "dockerd $pid is running but does not answer yet"; else
    mkdir -p "$DATA" "$RUN"
    rm -f "$SOCK"
    log "starting dockerd on $HOST (data $DATA, log $LOGFILE)"
    # setsid: its own session, so that no signal meant for the caller's process group reaches it.
    # Its own (empty, unrouted) bridge: with --bridge=none dockerd DELETES the host's docker0 at start,
    # which breaks the main engine's default network.
    ip link show pgdb2br0 >/dev/null 2>&1 || { ip link add pgdb2br0 type bridge && ip addr add 10.213.77.1/24 dev pgdb2br0 && ip link set pgdb2br0 up; }
    setsid nohup dockerd --host="$HOST" --data-root="$DATA" --exec-root="$RUN" --pidfile="$PIDFILE" \
      --bridge=pgdb2br0 --iptables=false --ip-masq=false --ip-forward=false --cgroup-parent=pgdb-docker2 \
      --shutdown-timeout=10 >>"$LOGFILE" 2>&1 </dev/null &
  fi
  for _ in $(seq 1 120); do answers && break; sleep 0.25; done
  answers || { log "dockerd on $HOST did not answer within 30 s; see $LOGFILE"; tail -5 "$LOGFILE" >&2; exit 1; }
}

load_images() {
  local image want
  for image in $IMAGES; do
    want=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null) || { log "image $image is not in the main engine: run scripts/test-env.sh"; exit 1; }
    [ "$(d2 image inspect -f '{{.Id}}' "$image" 2>/dev/null)" = "$want" ] && continue
    log "loading $image from the main engine"
    docker save "$image" | d2 load -q >/dev/null
  done
}

stop() { # $1: signal
  local pid
  pid=$(running_pid) || { rm -f "$SOCK"; return 0; }
  kill "-$1" "$pid" 2>/dev/null || true
  for _ in $(seq 1 240); do [ -d "/proc/$pid" ] || break; sleep 0.25; done
  [ -d "/proc/$pid" ] && { log "dockerd $pid did not stop within 60 s"; exit 1; }
  return 0
}

remove_bridge() { # once stopped for good: its bridge goes too
  ip link show pgdb2br0 >/dev/null 2>&1 && ip link delete pgdb2br0 2>/dev/null || true
}

case "${1:-}" in
  start) start; load_images; echo "$HOST" ;;
  stop) stop TERM; remove_bridge; log "stopped" ;;
  restart) stop TERM; start; echo "$HOST" ;;
  kill) stop KILL; start; echo "$HOST" ;;
  host) echo "$HOST" ;;
  *) echo "usage: $0 start|stop|restart|kill|host" >&2; exit 2 ;;
esac
