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
CGO_ENABLED=0 go build -trimpath -ldflags=-funcalign=64 -o bin/logscan ./cmd/logscan # as installed: static starts ~1 ms sooner; -funcalign, docs/DESIGN.md
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

# With OTELCOL=path/to/otelcol (built from bench/otelcol-builder.yaml: the filelog receiver and
# the debug exporter; see
# docs/BENCHMARKS.md), the steady case also runs against its filelog
# receiver at the default 200 ms poll, and both report their CPU seconds
# (bench/cpuwrap.sh reads them from /proc before the command is stopped).
if [ -n "${OTELCOL:-}" ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
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
	wrap=$PWD/bench/cpuwrap.sh
	echo "40 files at 20k lines/s, CPU seconds for ${STEADY_LINES:=200000} lines:"
	for round in 1 2 3; do
		echo "logscan   $(tb -cmd "$wrap $tmp/cpu.ls $bin --follow {dir} --match MATCHME --log-level warn" -lines "$STEADY_LINES" -files 40 -rate 20000) cpu $(cat "$tmp/cpu.ls" 2>/dev/null)"
		echo "collector $(tb -cmd "TB_DIR={dir} $wrap $tmp/cpu.oc $OTELCOL --config $tmp/otelcol.yaml 2>&1" -lines "$STEADY_LINES" -files 40 -rate 20000) cpu $(cat "$tmp/cpu.oc" 2>/dev/null)"
	done
fi
