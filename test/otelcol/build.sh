#!/usr/bin/env bash
# Builds the test collector from builder.yaml with the collector builder
# (ocb) at the same release, into a cache directory outside the repo, and
# prints the binary's path. A second run with an unchanged builder.yaml is a
# no-op, so CI and developers pay for the build once.
#
#   OTELCOL=$(test/otelcol/build.sh) go test ./test/otlp/
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
release=v0.161.0
cache=${LOGSCAN_OTELCOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/logscan/otelcol}
sum=$(sha256sum "$here/builder.yaml" | cut -c1-12)
out="$cache/$release-$sum"
bin="$out/otelcol-logscan-test"
if [[ -x "$bin" ]]; then
	echo "$bin"
	exit 0
fi
gobin=$(go env GOPATH)/bin
builder="$gobin/builder-$release"
if [[ ! -x "$builder" ]]; then
	tmp=$(mktemp -d)
	GOBIN="$tmp" go install "go.opentelemetry.io/collector/cmd/builder@$release" >&2
	mkdir -p "$gobin"
	mv "$tmp/builder" "$builder"
	rmdir "$tmp"
fi
mkdir -p "$out"
# The builder reads output_path from the config; give it ours.
cfg="$out/builder.yaml"
sed "s|^dist:|dist:\n  output_path: $out|" "$here/builder.yaml" >"$cfg"
"$builder" --config "$cfg" >&2
echo "$bin"
