#!/usr/bin/env bash
# Runs the README's walk-through as a reader would, and checks that it ends
# with the driver running on the gateway.
#
# The fenced blocks that follow a `<!-- walkthrough -->` comment in README.md
# run in order, each with `bash -euo pipefail`, in one fresh directory; a
# block after `<!-- walkthrough: background -->` (the server, the agent) is
# started in the background, and the next block waits until the server's
# port answers. Then, through the CLI, every driver bound to every instance
# must be `running` (and not stale).
#
# What differs from a reader's shell is the environment only:
#  - driverhub is built from this checkout into a temporary bin/ on PATH;
#  - HOME and XDG_CONFIG_HOME are temporary (login does not touch yours) and
#    no DRIVERHUB_* variable is inherited;
#  - the server listens on WALKTHROUGH_PORT (default: a free port), given as
#    DRIVERHUB_ADDR, and "127.0.0.1:8080" in the blocks is rewritten to it.
#
# Usage: scripts/readme-walkthrough.sh [README]   (WALKTHROUGH_KEEP=1 keeps the directory)
set -euo pipefail
cd "$(dirname "$0")/.."
readme=$(realpath "${1:-README.md}")

tmp=$(mktemp -d /tmp/driverhub-walkthrough.XXXXXX)
# mktemp makes it 0700; a reader's working directory lets others pass, as a
# root agent needs for its drivers' own users (docs/agent-install.md).
chmod 0711 "$tmp"
mkdir -p "$tmp/bin" "$tmp/home" "$tmp/work" "$tmp/blocks" "$tmp/logs"
background=() # process group ids of the background blocks, in start order
status=1

# stop ends the background blocks, newest first (the agent stops its drivers
# on SIGTERM), each by its own process group.
stop() {
	local i pgid
	for ((i = ${#background[@]} - 1; i >= 0; i--)); do
		pgid=${background[i]}
		kill -TERM -- "-$pgid" 2>/dev/null || continue
		for _ in $(seq 1 150); do
			kill -0 -- "-$pgid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL -- "-$pgid" 2>/dev/null || true
	done
}

cleanup() {
	stop
	if [ "$status" -ne 0 ]; then
		for log in "$tmp"/logs/*.log; do
			[ -e "$log" ] || continue
			echo "---- last lines of $(basename "$log" .log) (background block)"
			tail -n 40 "$log"
		done
	fi
	if [ "${WALKTHROUGH_KEEP:-}" = 1 ]; then
		echo "kept $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

port=${WALKTHROUGH_PORT:-}
if [ -z "$port" ]; then
	for _ in $(seq 1 50); do
		candidate=$((20000 + RANDOM % 30000))
		if ! port_open "$candidate"; then
			port=$candidate
			break
		fi
	done
fi
[ -n "$port" ] || { echo "no free port found"; exit 1; }

echo "== build"
go build -o "$tmp/bin/driverhub" ./cmd/driverhub

echo "== blocks of $readme"
# Each marked block becomes NNN.fg or NNN.bg, in the order of the README.
awk -v dir="$tmp/blocks" '
	/^<!-- walkthrough(: background)? -->[ \t]*$/ { mode = ($0 ~ /background/) ? "bg" : "fg"; next }
	mode != "" && !inblock && /^```/ { inblock = 1; n++; file = sprintf("%s/%03d.%s", dir, n, mode); printf "" > file; next }
	inblock && /^```[ \t]*$/ { inblock = 0; mode = ""; close(file); next }
	inblock { print > file }
' "$readme"
blocks=("$tmp"/blocks/*)
[ -e "${blocks[0]}" ] || { echo "no <!-- walkthrough --> blocks in $readme"; exit 1; }
echo "${#blocks[@]} blocks; server on 127.0.0.1:$port"

for name in $(env | sed -n 's/^\(DRIVERHUB_[A-Za-z0-9_]*\)=.*/\1/p'); do
	unset "$name"
done
export HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/.config" PATH="$tmp/bin:$PATH"
export DRIVERHUB_ADDR="127.0.0.1:$port"
cd "$tmp/work"

# wait_for_server waits until the server's port answers, failing early when
# the block that starts it has ended.
wait_for_server() {
	local pgid=$1 log=$2
	# The block's process group exists only once setsid has run in the new
	# process, which on a busy machine can be after this starts (setsid
	# sleep & then kill -0 -$! failed 76 times in 200 while CI ran): wait
	# for it, so that a block still starting is not taken for one that
	# ended (a failed walk-through with an empty log).
	for _ in $(seq 1 100); do
		kill -0 -- "-$pgid" 2>/dev/null && break
		sleep 0.01
	done
	for _ in $(seq 1 600); do
		port_open "$port" && return 0
		if ! kill -0 -- "-$pgid" 2>/dev/null; then
			echo "the background block ended:"; cat "$log"; return 1
		fi
		sleep 0.1
	done
	echo "nothing answers on 127.0.0.1:$port after 60 s"
	return 1
}

for block in "${blocks[@]}"; do
	sed -i "s/127\.0\.0\.1:8080/127.0.0.1:$port/g; s/localhost:8080/localhost:$port/g" "$block"
	id=$(basename "$block")
	echo "== ${id%.*} (${id#*.})"
	sed 's/^/  $ /' "$block"
	case $id in
	*.bg)
		log="$tmp/logs/${id%.*}.log"
		setsid bash -euo pipefail "$block" >"$log" 2>&1 &
		background+=("$!")
		wait_for_server "$!" "$log"
		;;
	*.fg)
		bash -euo pipefail "$block"
		;;
	esac
done

echo "== check: every bound driver runs"
# The gateway reports a driver's state within one heartbeat; give it a few.
deadline=$((SECONDS + 60))
while :; do
	report=""
	ok=1
	for instance in $(driverhub instance list | awk 'NR > 1 { print $1 }'); do
		table=$(driverhub instance drivers "$instance")
		report+="$instance:"$'\n'"$table"$'\n'
		# Columns: DRIVER PUBLISHER VERSION RUNNING STATE [(stale)] RESTARTS CONFIG DEVICES
		if ! awk 'NR > 1 { n++; if ($5 != "running" || $6 == "(stale)") bad = 1 } END { exit (n == 0 || bad) }' <<<"$table"; then
			ok=0
		fi
	done
	if [ -n "$report" ] && [ "$ok" = 1 ]; then
		printf '%s' "$report"
		break
	fi
	if [ "$SECONDS" -ge "$deadline" ]; then
		printf 'not every bound driver is running after 60 s:\n%s' "$report"
		exit 1
	fi
	sleep 2
done
status=0
echo "== the README's walk-through ran: every bound driver is running"
