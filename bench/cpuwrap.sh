#!/usr/bin/env bash
# cpuwrap.sh OUT CMD...: runs CMD in its own process group and, when this
# script is sent SIGTERM (tailbench stops the command's group so), writes
# CMD's user+system CPU seconds to OUT, read from /proc before CMD is
# stopped, then stops it. Used by bench/follow.sh to compare CPU per line.
set -m # job control: the background job gets its own process group
out=$1
shift
"$@" &
pid=$!
stop() {
	awk '{ printf "%.3f\n", ($14 + $15) / 100 }' "/proc/$pid/stat" >"$out"
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	exit 0
}
trap stop TERM INT
wait "$pid"
