#!/usr/bin/env bash
# The one-shot speed matrix: logscan against ripgrep, ugrep and GNU grep on
# every cell of bench/matrix (match density x output mode x pattern kind x
# tree shape), medians of ROUNDS interleaved rounds, one Markdown table with
# the machine and the tool versions (see docs/BENCHMARKS.md).
#
#   bench/oneshot.sh [SIZE] [ROUNDS] [oneshot flags...]   e.g. bench/oneshot.sh 1GiB 3
#                                                          then bench/oneshot.sh 4GiB 3
#
# Exits 1 if logscan and rg print different line counts on a cell.
# The trees are made once under ${MATRIX_TREES:-/tmp/logscan-matrix}/SIZE
# (about 2.6 x SIZE of disk) and reused. A run at another size than 1GiB
# compares logscan's peak RSS with the 1GiB run's, if that ran first.
# Needs rg, ugrep and GNU grep (apt-get install -y ripgrep ugrep) and
# ../shared/bench/gencorpus (or SHARED_BENCH=DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1GiB}
rounds=${2:-3}
shift $(($# < 2 ? $# : 2))
trees=${MATRIX_TREES:-/tmp/logscan-matrix}
shared=${SHARED_BENCH:-../shared/bench}
if [ ! -f "$shared/gencorpus/main.go" ]; then
	echo "oneshot.sh: no gencorpus in $shared (set SHARED_BENCH)" >&2
	exit 2
fi
CGO_ENABLED=0 go build -trimpath -ldflags=-funcalign=64 -o bin/logscan ./cmd/logscan # as installed: static starts ~1 ms sooner; -funcalign, docs/DESIGN.md
args=(-logscan bin/logscan -size "$size" -rounds "$rounds" -trees "$trees" -gencorpus "$shared")
if [ "$size" != 1GiB ] && [ -f "$trees/results-1GiB.tsv" ]; then
	args+=(-baseline "$trees/results-1GiB.tsv")
fi
go run ./bench/oneshot "${args[@]}" "$@"
