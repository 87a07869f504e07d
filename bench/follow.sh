#!/usr/bin/env bash
# Benchmarks logscan --follow against tail -F | grep with ../shared/bench's
# tailbench, in one run: lost and duplicate lines, throughput and latency
# under rename and copytruncate rotation and new files in new directories,
# then 20k lines/s spread over 40 files with every follower at once
# (bench/followpair; see README "Performance").
#
#   bench/follow.sh [LINES]     e.g. bench/follow.sh 300000
set -euo pipefail
cd "$(dirname "$0")/.."
lines=${1:-300000}
CGO_ENABLED=0 go build -trimpath -ldflags=-funcalign=64 -o bin/logscan ./cmd/logscan # as installed: static starts ~1 ms sooner; -funcalign, docs/DESIGN.md
bin=$PWD/bin/logscan
shared=${SHARED:-$PWD/../shared}
tb() { (cd "$shared/bench" && go run ./tailbench "$@" 2>/dev/null | tail -1) || true; }
for mode in rename copytruncate newfiles; do
	echo "logscan  $(tb -cmd "$bin --follow {dir} --match MATCHME --log-level warn" -lines "$lines" -rotate 50000 -mode "$mode")"
	echo "tail|grep $(tb -cmd 'tail -F -n0 {dir}/app.log | grep --line-buffered MATCHME' -lines "$lines" -rotate 50000 -mode "$mode")"
done
# The steady case, 40 files at 20k lines/s, runs every follower at once on the
# same writes (bench/followpair): this VM's latency swings from run to run,
# so percentiles from separate runs compare spells more than followers.
# With OTELCOL=path/to/otelcol (built from bench/otelcol-builder.yaml: the
# filelog receiver and the debug exporter; see docs/BENCHMARKS.md) its
# filelog receiver joins them at the default 200 ms poll. Each follower's CPU
# is its process group's, read from /proc before it is stopped.
go build -o bin/followpair ./bench/followpair
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
peers=(-cmd "logscan=$bin --follow {dir} --match MATCHME --log-level warn"
	-cmd 'tail|grep=tail -q -F -n0 {dir}/app.log {dir}/d*/app.log | grep --line-buffered MATCHME')
if [ -n "${OTELCOL:-}" ]; then
	cat >"$tmp/otelcol.yaml" <<'YAML'
receivers:
  filelog:
    include: ["${env:TB_DIR}/app.log", "${env:TB_DIR}/d*/app.log"]
    start_at: end
    poll_interval: 200ms
    operators:
      - type: filter
        expr: 'not (body matches "MATCHME")'
exporters:
  debug:
    verbosity: detailed
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [filelog]
      exporters: [debug]
YAML
	peers+=(-cmd "collector=TB_DIR={dir} exec $OTELCOL --config $tmp/otelcol.yaml 2>&1")
fi
for round in 1 2 3; do
	echo "40 files at 20k lines/s, all at once, round $round:"
	bin/followpair -lines "${STEADY_LINES:-200000}" -files 40 -rate 20000 "${peers[@]}" | tail -n +2
done
