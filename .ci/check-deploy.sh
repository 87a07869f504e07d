#!/usr/bin/env bash
# check-deploy.sh: CI checks for what cannot run here (Docker, a cluster,
# systemd as PID 1): the binary is static, the manifest agrees with the
# Dockerfile and the config, the unit's flags exist, and the unit verifies
# with an exposure of at most 2.0 (when systemd-analyze is installed).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
max_exposure=2.0
unit=systemd/logscan.service

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "check-deploy: FAIL: $*" >&2; exit 1; }
step() { echo "check-deploy: $*"; }

# 1. The static build, exactly as the Dockerfile does it.
step "building static binary"
bin=$tmp/logscan
CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$bin" ./cmd/logscan

# go version -m works everywhere Go does; the others are used when present.
go version -m "$bin" | grep -q 'build[[:space:]]*CGO_ENABLED=0' ||
	fail "$bin was not built with CGO_ENABLED=0"
go version -m "$bin" | grep -q 'build[[:space:]]*-trimpath=true' ||
	fail "$bin was not built with -trimpath"
if command -v file >/dev/null; then
	desc=$(file -b "$bin")
	case $desc in
	*"dynamically linked"* | *"interpreter"*) fail "$bin is dynamic: $desc" ;;
	*"statically linked"*) ;;
	*) fail "file cannot tell that $bin is static: $desc" ;;
	esac
fi
if command -v readelf >/dev/null; then
	readelf -d "$bin" | grep -q 'There is no dynamic section' ||
		fail "$bin has a dynamic section: $(readelf -d "$bin" | head -5)"
fi
if command -v ldd >/dev/null; then
	# ldd exits non-zero for a static binary; only its verdict matters.
	out=$(ldd "$bin" 2>&1 || true)
	case $out in
	*"not a dynamic executable"* | *"statically linked"*) ;;
	*) fail "ldd lists libraries for $bin: $out" ;;
	esac
fi

# 2. Every flag the unit passes exists in the binary.
step "checking the flags used by $unit"
help=$("$bin" --help 2>&1 || true)
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
[[ -n $exec_start ]] || fail "$unit has no ExecStart="
for flag in $(grep -oE -- '--[a-z][a-z0-9-]*' <<<"$exec_start"); do
	grep -qE -- "(^|[^a-z0-9-])${flag}([^a-z0-9-]|$)" <<<"$help" ||
		fail "$unit uses $flag, which logscan --help does not list"
done

# 3. Manifest, Dockerfile and config agree (ports, paths, env, securityContext).
step "checking deploy/ (sidecar, DaemonSet, collector config) against the Dockerfile, the config and the HTTP endpoints"
go test -count=1 ./deploy

# 4. systemd-analyze, when this machine has it.
if ! command -v systemd-analyze >/dev/null; then
	step "systemd-analyze not installed: unit verify and exposure skipped"
	exit 0
fi
step "systemd-analyze verify $unit"
# verify insists that ExecStart's binary exists: check a copy that runs the
# one just built. The copy keeps the unit's name, which verify also checks.
mkdir "$tmp/unit"
sed "s|^ExecStart=/usr/local/bin/logscan |ExecStart=$bin |" "$unit" >"$tmp/unit/logscan.service"
grep -q "^ExecStart=$bin " "$tmp/unit/logscan.service" ||
	fail "$unit: ExecStart does not start with /usr/local/bin/logscan"
systemd-analyze verify "$tmp/unit/logscan.service"
step "systemd-analyze verify $unit with the OTLP drop-in systemd/logscan-otlp.conf"
mkdir "$tmp/unit/logscan.service.d"
cp systemd/logscan-otlp.conf "$tmp/unit/logscan.service.d/otlp.conf"
SYSTEMD_UNIT_PATH="$tmp/unit:" systemd-analyze verify "$tmp/unit/logscan.service"

step "systemd-analyze security $unit"
report=$(systemd-analyze security --offline=true "$unit" 2>&1) || fail "systemd-analyze security: $report"
exposure=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' <<<"$report")
[[ -n $exposure ]] || fail "no exposure level in: $report"
awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e <= m) }' ||
	fail "exposure $exposure > $max_exposure:
$(grep '✗' <<<"$report")"
step "exposure $exposure (max $max_exposure)"
step "ok"
