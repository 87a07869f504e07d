#!/usr/bin/env bash
# Benchmarks logscan --follow against tail -F | grep with ../shared/bench's
# tailbench, in one run: lost and duplicate lines, throughput and latency
# under rename and copytruncate rotation and new files in new directories,
# then 20k lines/s spread over 40 files (see README "Performance").
#
#   bench/follow.sh [LINES]     e.g. bench/follow.sh 300000
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-300000}
CGO_ENABLED=0 go build -trimpath -o bin/logscan ./cmd/logscan # static, as installed: starts ~1 ms sooner
bin=$PWD/bin/logscan
shared=${SHARED:-$PWD/../shared}
tb() { (cd "$shared/bench" && go run ./tailbench "$@" 2>/dev/null | tail -1) || true; }
for mode in rename copytruncate newfiles; do
	echo "logscan  $(tb -cmd "$bin --follow {dir} --match MATCHME --log-level warn" -lines "$lines" -rotate 50000 -mode "$mode")"
	echo "tail|grep $(tb -cmd 'tail -F -n0 {dir}/app.log | grep --line-buffered MATCHME' -lines "$lines" -rotate 50000 -mode "$mode")"
done
echo "40 files at 20k lines/s:"
echo "logscan  $(tb -cmd "$bin --follow {dir} --match MATCHME --log-level warn" -lines 200000 -files 40 -rate 20000)"
echo "tail|grep $(tb -cmd 'tail -q -F -n0 {dir}/app.log {dir}/d*/app.log | grep --line-buffered MATCHME' -lines 200000 -files 40 -rate 20000)"
