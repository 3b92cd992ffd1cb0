#!/usr/bin/env bash
# Builds Jaeger v2 (Go module github.com/jaegertracing/jaeger v1.76.0 = Jaeger v2.13.0) once and
# caches the binary outside the repository. Prints the binary's path.
# `go install` refuses the module (its go.mod has a replace directive), so it is downloaded and
# built inside the module cache copy.
set -euo pipefail
version=v1.76.0
cache_dir="${TRACEGATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tracegate}"
bin="$cache_dir/jaeger-$version"
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
mkdir -p "$cache_dir"
dir=$(GOFLAGS=-mod=mod go mod download -json "github.com/jaegertracing/jaeger@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$dir" ] || { echo "build-jaeger: module download failed" >&2; exit 1; }
tmp="$bin.tmp.$$"
( cd "$dir" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$tmp" ./cmd/jaeger ) >&2
mv "$tmp" "$bin"
echo "$bin"
