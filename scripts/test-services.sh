#!/usr/bin/env bash
# Starts the services the PostgreSQL and S3 tests need, on loopback, and
# prints the environment that selects them, for eval:
#
#   eval "$(scripts/test-services.sh start /tmp/dh-services)"
#   go test ./internal/postgres/ ./internal/s3blob/ ./cmd/driverhub/
#   scripts/test-services.sh stop /tmp/dh-services
#
# start DIR  installs what is missing (Debian's postgresql, versitygw with
#            go install), starts PostgreSQL 15 (port $PGPORT, default the
#            first free one from 25432) and versitygw's POSIX backend (port
#            $S3PORT, default the first free one from 27070), so that it
#            runs beside services already started (another checkout's),
#            both with their data under DIR, creates a database and a bucket
#            and prints the exports. Progress goes to stderr.
# stop DIR   stops both servers, by the PIDs recorded under DIR.
#
# .ci/run uses this very script; so do developers.
set -euo pipefail

# free_port prints the first port from $1 on that nothing listens on. The
# defaults lie below Linux's ephemeral range (32768-60999): a port in it
# may be the local end of any client's connection, which no connect test
# sees and which makes the server's bind fail (seen in CI, for 55432).
free_port() {
	local p
	for ((p = $1; p < $1 + 100; p++)); do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	echo "test-services: no free port from $1 to $(($1 + 99))" >&2
	return 1
}
PGPORT=${PGPORT:-$(free_port 25432)}
S3PORT=${S3PORT:-$(free_port 27070)}
PGBIN=/usr/lib/postgresql/15/bin
VERSITYGW_VERSION=v1.8.0
S3_ACCESS_KEY=driverhub-test
S3_SECRET_KEY=driverhub-test-secret
BUCKET=driverhub-test
DATABASE=driverhub_test

log() { echo "test-services: $*" >&2; }

stop() {
	local dir=$1
	if [ -f "$dir/pg/postmaster.pid" ]; then
		local pid
		pid=$(head -1 "$dir/pg/postmaster.pid")
		log "stopping PostgreSQL (pid $pid)"
		kill -INT "$pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	fi
	if [ -f "$dir/versitygw.pid" ]; then
		local pid
		pid=$(cat "$dir/versitygw.pid")
		log "stopping versitygw (pid $pid)"
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		rm -f "$dir/versitygw.pid"
	fi
}

install() {
	if [ ! -x "$PGBIN/initdb" ]; then
		log "installing postgresql"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq >&2
		apt-get install -y -qq postgresql >&2
	fi
	if [ ! -x "$PGBIN/initdb" ]; then
		log "$PGBIN/initdb missing after installing postgresql (not version 15?)"
		exit 1
	fi
	GOBIN_DIR=$(go env GOBIN)
	[ -n "$GOBIN_DIR" ] || GOBIN_DIR="$(go env GOPATH)/bin"
	VERSITYGW="$GOBIN_DIR/versitygw"
	if [ ! -x "$VERSITYGW" ]; then
		log "installing versitygw $VERSITYGW_VERSION"
		(cd / && GOFLAGS=-buildvcs=false go install "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION") >&2
	fi
}

start() {
	local dir=$1
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	install

	# PostgreSQL: a cluster owned by the postgres user, trusted on loopback.
	mkdir -p "$dir/pg"
	chown postgres: "$dir" "$dir/pg"
	chmod 0700 "$dir/pg"
	if [ ! -f "$dir/pg/PG_VERSION" ]; then
		log "initdb $dir/pg"
		runuser -u postgres -- "$PGBIN/initdb" -D "$dir/pg" -U postgres --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
			{ cat "$dir/initdb.log" >&2; exit 1; }
	fi
	log "starting PostgreSQL on 127.0.0.1:$PGPORT"
	runuser -u postgres -- "$PGBIN/pg_ctl" -D "$dir/pg" -l "$dir/pg.log" -w -t 60 \
		-o "-p $PGPORT -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=400" start >&2 ||
		{ cat "$dir/pg.log" >&2; exit 1; }
	if ! runuser -u postgres -- psql -h 127.0.0.1 -p "$PGPORT" -U postgres -tAc \
		"SELECT 1 FROM pg_database WHERE datname = '$DATABASE'" | grep -q 1; then
		runuser -u postgres -- psql -h 127.0.0.1 -p "$PGPORT" -U postgres -qc "CREATE DATABASE $DATABASE" >&2
	fi

	# versitygw: an S3 server over a directory.
	mkdir -p "$dir/s3"
	log "starting versitygw on 127.0.0.1:$S3PORT"
	ROOT_ACCESS_KEY=$S3_ACCESS_KEY ROOT_SECRET_KEY=$S3_SECRET_KEY \
		setsid "$VERSITYGW" --port "127.0.0.1:$S3PORT" posix "$dir/s3" >"$dir/versitygw.log" 2>&1 </dev/null &
	echo $! >"$dir/versitygw.pid"
	local ok=
	for _ in $(seq 100); do
		if curl -s -o /dev/null "http://127.0.0.1:$S3PORT/"; then ok=1; break; fi
		sleep 0.1
	done
	[ -n "$ok" ] || { cat "$dir/versitygw.log" >&2; log "versitygw did not start"; exit 1; }
	# Create the bucket (a SigV4-signed PUT; "already owned" is fine).
	local sign=(--aws-sigv4 "aws:amz:us-east-1:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY"
		-H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	curl -s -o /dev/null "${sign[@]}" -X PUT "http://127.0.0.1:$S3PORT/$BUCKET"
	local code
	code=$(curl -s -o /dev/null -w '%{http_code}' "${sign[@]}" -I "http://127.0.0.1:$S3PORT/$BUCKET")
	[ "$code" = 200 ] || { log "bucket $BUCKET not there (HEAD answered $code)"; exit 1; }

	cat <<EOF
export DRIVERHUB_TEST_POSTGRES='postgres://postgres@127.0.0.1:$PGPORT/$DATABASE?sslmode=disable'
export DRIVERHUB_TEST_S3='s3://$BUCKET?endpoint=http://127.0.0.1:$S3PORT&region=us-east-1&path_style=true'
export AWS_ACCESS_KEY_ID='$S3_ACCESS_KEY'
export AWS_SECRET_ACCESS_KEY='$S3_SECRET_KEY'
EOF
}

case "${1:-}" in
start) start "${2:?usage: $0 start DIR}" ;;
stop) stop "${2:?usage: $0 stop DIR}" ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
