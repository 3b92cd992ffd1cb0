#!/usr/bin/env bash
# Side-by-side load comparison on this machine: the same mock upstream called directly and
# through tracegate (OpenAI passthrough, run API, streaming), at concurrency 1 and 16.
# Writes a markdown table to stdout and to $1 (default bench-results.md; results are not
# committed). Each phase is bounded (BENCH_DURATION, default 5s, after BENCH_WARMUP, default
# 1s), so the whole run takes about a minute and a half. A phase that fails (say a 404 before an
# endpoint exists) is reported in its row and the rest still run; the exit status is then 3.
#
# Knobs: BENCH_DURATION, BENCH_WARMUP, BENCH_CONCURRENCY (1,16), BENCH_PHASES, BENCH_SPANS
# (otlp | none), BENCH_MOCK_DELAY, BENCH_CHUNK_DELAY (e.g. 1ms: shows chunk-by-chunk relay),
# BENCH_JSON (a path: also write the JSON report there). Extra arguments after $1 go to
# `tracegate-load compare` as they are.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-bench-results.md}
shift || true

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tracegate-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo "== building tracegate and tracegate-load into $tmp" >&2
(cd "$root" && go build -o "$tmp/tracegate" ./cmd/tracegate && go build -o "$tmp/tracegate-load" ./cmd/tracegate-load)

args=(
  compare
  -tracegate-bin "$tmp/tracegate"
  -tracegate-config "$root/scripts/bench-config.yaml"
  -concurrency "${BENCH_CONCURRENCY:-1,16}"
  -phases "${BENCH_PHASES:-direct,passthrough,run-api,direct-stream,passthrough-stream}"
  -d "${BENCH_DURATION:-5s}"
  -warmup "${BENCH_WARMUP:-1s}"
  -spans "${BENCH_SPANS:-otlp}"
  -mock-delay "${BENCH_MOCK_DELAY:-0s}"
  -mock-chunk-delay "${BENCH_CHUNK_DELAY:-0s}"
  -markdown "$tmp/results.md"
)

echo "== running: tracegate-load ${args[*]} $*" >&2
status=0
"$tmp/tracegate-load" "${args[@]}" -json "$@" >"$tmp/results.json" || status=$?

if [ -f "$tmp/results.md" ]; then
  cp "$tmp/results.md" "$out"
  cat "$out"
  echo >&2
  echo "== results written to $out" >&2
fi
if [ -n "${BENCH_JSON:-}" ] && [ -s "$tmp/results.json" ]; then
  cp "$tmp/results.json" "$BENCH_JSON"
fi
case $status in
  0) echo "== every phase ran" >&2 ;;
  3) echo "== some phases FAILED: see the rows marked FAILED above (the others were measured)" >&2 ;;
  *) echo "== the comparison could not run (exit $status): see the messages above" >&2 ;;
esac
exit "$status"
