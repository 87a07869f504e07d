#!/usr/bin/env bash
# The short chaos soak for CI: logscan --follow under every fault of issue 5
# for 60 s (override with the first argument, e.g. .ci/soak.sh 10m for the
# long run whose summary goes in the README). Extra arguments go to the soak,
# e.g. .ci/soak.sh 60s -seed 42. Run as root it runs logscan as nobody, so
# that chmod 000 bites. The last line is the summary:
#   written=N faults=... lost=N duplicates=N peak_rss_mib=N peak_fds=N
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-60s}"
shift || true
mkdir -p bin
go build -o bin/logscan ./cmd/logscan
exec go run ./test/soak -duration "$duration" -bin bin/logscan "$@"
