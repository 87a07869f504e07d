#!/usr/bin/env bash
# Benchmarks logscan's one-shot scan against ripgrep and GNU grep on a
# generated corpus and prints the ratio table (see README "Performance").
#
#   bench/oneshot.sh [SIZE] [RUNS]     e.g. bench/oneshot.sh 1GiB 5
#
# Needs rg (apt-get install -y ripgrep) and ../shared/bench/gencorpus.
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1GiB}
runs=${2:-5}
corpus=${CORPUS:-/tmp/logscan-corpus-$size}
if [ ! -d "$corpus" ]; then
	(cd ../shared/bench && go run ./gencorpus -out "$corpus" -size "$size")
fi
go build -o bin/logscan ./cmd/logscan
# Warm the page cache so every tool reads from memory.
cat $(find "$corpus" -type f) >/dev/null
go run ./bench/oneshot -logscan bin/logscan -corpus "$corpus" -runs "$runs"
# Like for like: rg without -z does not search .gz files; logscan does by default.
go run ./bench/oneshot -logscan bin/logscan -corpus "$corpus" -runs "$runs" -logscan-args --no-decompress
