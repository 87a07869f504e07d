#!/usr/bin/env bash
# Runs every native fuzz target of the module, one at a time, for BUDGET
# each: a number of executions (default 20000x), or a duration for a long
# local run (the issue asks for a few minutes when the code changes):
#   .ci/fuzz.sh 20000x
#   .ci/fuzz.sh 5m
# CI uses a count: with a duration, Go 1.26's fuzz coordinator can fail a
# target with "context deadline exceeded" at the deadline though nothing
# failed, when a loaded worker is still mid-call (golang/go#75804, fixed in
# Go 1.27); a count has no deadline to race.
# Targets are found with `go test -list`, so a new Fuzz function is picked
# up without editing this script. New corpus entries that fail are written
# under the package's testdata/fuzz/ by go test; commit them.
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-20000x}"

found=0
failed=()
for pkg in $(go list ./...); do
	# -run '^$' runs no test; -list prints the matching fuzz targets.
	targets=$(go test -list '^Fuzz' -run '^$' "$pkg" 2>/dev/null | grep '^Fuzz' || true)
	for target in $targets; do
		found=$((found + 1))
		echo "== fuzz $pkg $target ($duration)"
		# One target per run: -fuzz accepts only one match per package.
		if ! go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$duration" -parallel 2; then
			failed+=("$pkg $target")
		fi
	done
done

if [ "$found" -eq 0 ]; then
	echo "fuzz: no fuzz targets found" >&2
	exit 1
fi
if [ ${#failed[@]} -gt 0 ]; then
	echo "fuzz: failing targets:" >&2
	printf '  %s\n' "${failed[@]}" >&2
	exit 1
fi
echo "fuzz: $found targets passed ($duration each)"
