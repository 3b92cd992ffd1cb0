#!/usr/bin/env bash
# Builds Jaeger v2 (Go module github.com/jaegertracing/jaeger v1.76.0 = Jaeger v2.13.0) once and
# caches the binary outside the repository. Prints the binary's path on stdout (progress goes
# to stderr). The cache is $TRACEGATE_CACHE, else $XDG_CACHE_HOME/tracegate, else ~/.cache/tracegate.
# `go install` refuses the module (its go.mod has a replace directive), so it is downloaded and
# built inside the module cache copy: about 5 minutes cold on 2 cores, ~2.3 GB peak memory.
set -euo pipefail
version=v1.76.0
cache_dir="${TRACEGATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tracegate}"
bin="$cache_dir/jaeger-$version"
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
mkdir -p "$cache_dir"
tmp="$bin.tmp.$$"
scratch=$(mktemp -d)
trap 'rm -rf "$tmp" "$scratch"' EXIT
echo "build-jaeger: building Jaeger v2.13.0 ($version) into $cache_dir (takes a few minutes once)" >&2
# Download from an empty directory: outside any module, so the caller's go.mod and go.work are
# never read or changed.
dir=$(cd "$scratch" && GOWORK=off GOFLAGS=-mod=mod go mod download -json "github.com/jaegertracing/jaeger@$version" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -n "$dir" ] && [ -d "$dir" ] || { echo "build-jaeger: module download failed" >&2; exit 1; }
( cd "$dir" && GOWORK=off GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$tmp" ./cmd/jaeger ) >&2
mv "$tmp" "$bin"
echo "build-jaeger: built $bin" >&2
echo "$bin"
