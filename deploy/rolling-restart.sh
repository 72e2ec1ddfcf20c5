#!/usr/bin/env bash
# Restart the tmux-orc daemons of a cluster one node at a time (deploy/cluster/README.md).
set -euo pipefail

usage() {
	cat <<'EOF'
usage: rolling-restart.sh HOST...

Restarts the tmux-orc daemon on each HOST in turn. Before the first restart the whole cluster
must be healthy; after each restart it waits until that node's health check passes and then
until every node's does, before going on to the next. It stops with exit 1 if that does not
happen within TIMEOUT seconds.

Environment ("{host}" is replaced by the host name):
  RESTART_CMD  default: ssh {host} sudo systemctl restart tmux-orc
  HEALTH_CMD   default: ssh {host} curl -fsS http://127.0.0.1:14223/healthz
  TIMEOUT      seconds to wait for health, per step (default 120)
  INTERVAL     seconds between health checks (default 2)

systemctl restart sends SIGTERM, which the daemon turns into a lame-duck shutdown: it hands
its leaderships to other nodes before it stops.
EOF
}

if [[ $# -eq 0 ]]; then
	usage >&2
	exit 2
fi
case "$1" in
-h | --help)
	usage
	exit 0
	;;
esac

RESTART_CMD=${RESTART_CMD:-'ssh {host} sudo systemctl restart tmux-orc'}
HEALTH_CMD=${HEALTH_CMD:-'ssh {host} curl -fsS http://127.0.0.1:14223/healthz'}
TIMEOUT=${TIMEOUT:-120}
INTERVAL=${INTERVAL:-2}

if ! [[ $TIMEOUT =~ ^[0-9]+$ ]]; then
	echo "rolling-restart: TIMEOUT must be a whole number of seconds, got \"$TIMEOUT\"" >&2
	exit 2
fi
if ! [[ $INTERVAL =~ ^[0-9]+([.][0-9]+)?$ ]]; then
	echo "rolling-restart: INTERVAL must be a number of seconds, got \"$INTERVAL\"" >&2
	exit 2
fi
for host in "$@"; do
	# Host names go into shell commands: allow nothing a shell would interpret.
	if ! [[ $host =~ ^[A-Za-z0-9._:@-]+$ ]]; then
		echo "rolling-restart: invalid host name \"$host\"" >&2
		exit 2
	fi
done

# on HOST CMD: run CMD with {host} replaced by HOST.
on() {
	local host=$1 cmd=$2
	bash -c "${cmd//\{host\}/$host}"
}

# healthy HOST...: whether every HOST's health check passes now. The output of the last
# failing check is kept in $last_failure.
last_failure=
healthy() {
	local host out
	for host in "$@"; do
		if ! out=$(on "$host" "$HEALTH_CMD" 2>&1); then
			last_failure="$host: ${out:-health check failed}"
			return 1
		fi
	done
}

# now_ms: milliseconds on a monotonic-enough clock (bash 5's EPOCHREALTIME, else SECONDS).
now_ms() {
	if [[ -n ${EPOCHREALTIME:-} ]]; then
		local t=${EPOCHREALTIME//[.,]/}
		echo $((10#$t / 1000))
	else
		echo $((SECONDS * 1000))
	fi
}

# wait_healthy WHAT HOST...: wait up to TIMEOUT seconds until every HOST is healthy.
wait_healthy() {
	local what=$1
	shift
	local deadline
	deadline=$(($(now_ms) + TIMEOUT * 1000))
	until healthy "$@"; do
		if (($(now_ms) >= deadline)); then
			echo "rolling-restart: ABORT: $what not healthy within ${TIMEOUT}s (last: $last_failure)" >&2
			echo "rolling-restart: no further node was restarted" >&2
			exit 1
		fi
		sleep "$INTERVAL"
	done
}

echo "rolling-restart: checking the cluster before restarting: $*"
wait_healthy "the cluster" "$@"
for host in "$@"; do
	echo "rolling-restart: restarting $host"
	if ! on "$host" "$RESTART_CMD"; then
		echo "rolling-restart: ABORT: restarting $host failed" >&2
		exit 1
	fi
	wait_healthy "$host" "$host"
	echo "rolling-restart: $host is healthy; waiting for the cluster"
	wait_healthy "the cluster after restarting $host" "$@"
	echo "rolling-restart: cluster healthy after restarting $host"
done
echo "rolling-restart: done, restarted $# node(s)"
