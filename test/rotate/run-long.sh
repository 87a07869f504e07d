#!/usr/bin/env bash
# The long version of the real-rotator suite: every scenario (or those that
# LOGSCAN_ROTATE_RUN selects) at several seeds for longer, then one table of
# the figures, summed over the seeds.
#
#	test/rotate/run-long.sh [DURATION [SEEDS [RATE]]]     default 25s 4 2000
#
# LOGSCAN_ROTATE_SEED is the first seed (default 1); LOGSCAN_ROTATE_RUN a -run
# pattern (default TestRotate); LOGSCAN_ROTATE_LOG where the go test -v log
# goes (default a temporary file, named at the end). Two runs go on at once
# (go test -parallel); 13 scenarios at 4 seeds of 25 s take about 15 minutes.
# The exit status is go test's: 1 when a run missed a target.
set -uo pipefail
cd "$(dirname "$0")/../.."

duration=${1:-${LOGSCAN_ROTATE_DURATION:-25s}}
seeds=${2:-${LOGSCAN_ROTATE_SEEDS:-4}}
rate=${3:-${LOGSCAN_ROTATE_RATE:-2000}}
log=${LOGSCAN_ROTATE_LOG:-$(mktemp "${TMPDIR:-/tmp}/logscan-rotate-long.XXXXXX")}

echo "rotate: duration=$duration seeds=$seeds (from ${LOGSCAN_ROTATE_SEED:-1}) rate=$rate lines/s; log: $log"
LOGSCAN_ROTATE_DURATION=$duration LOGSCAN_ROTATE_SEEDS=$seeds LOGSCAN_ROTATE_RATE=$rate \
	go test ./test/rotate -run "${LOGSCAN_ROTATE_RUN:-TestRotate}" -count=1 -v -timeout 0 >"$log" 2>&1
status=$?

# Scenarios in the order rotate_test.go lists them.
order=$(grep -o '{name: "[a-z0-9-]*"' test/rotate/rotate_test.go | cut -d'"' -f2 | tr '\n' ' ')
awk -v order="$order" '
/ROTATE scenario=/ {
	delete f
	for (i = 1; i <= NF; i++) {
		if (split($i, kv, "=") == 2) f[kv[1]] = kv[2]
	}
	s = f["scenario"]
	if (!(s in runs)) extra = extra " " s
	runs[s]++
	if (f["verdict"] != "PASS") failed[s]++
	n = split("written lost lost_absent lost_outside lost_in_tree dup torn cut kills", cols, " ")
	for (c = 1; c <= n; c++) sum[s, cols[c]] += f[cols[c]]
}
END {
	fmt = "%-24s %5s %6s %9s %7s %7s %8s %8s %6s %5s %5s\n"
	printf fmt, "scenario", "runs", "failed", "written", "lost", "absent", "outside", "dup", "torn", "cut", "kills"
	m = split(order extra, names, " ")
	for (j = 1; j <= m; j++) {
		s = names[j]
		if (!(s in runs) || (s in done)) continue
		done[s] = 1
		printf fmt, s, runs[s], failed[s] + 0, sum[s, "written"], sum[s, "lost"], sum[s, "lost_absent"], \
			sum[s, "lost_outside"], sum[s, "dup"], sum[s, "torn"], sum[s, "cut"], sum[s, "kills"]
	}
	print ""
	print "absent: lost lines no file on disk holds (logrotate'"'"'s copytruncate gap); outside: only in a file"
	print "outside the tree (olddir out); lost - absent - outside is logscan'"'"'s own loss. cut: the last record"
	print "of a logscan killed with -9, half-written."
}' "$log"
grep -E -- '--- FAIL: TestRotate/[^ ]+/seed=|^(FAIL|ok|panic)' "$log" | sed 's/^ *//'
echo "full log: $log"
exit $status
