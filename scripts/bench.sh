#!/usr/bin/env bash
# Side-by-side load comparison on this machine: the same mock upstream called directly, through
# the null gateway (a bare fasthttp relay: the floor any gateway pays for its extra loopback
# hop) and through tracegate (OpenAI passthrough, run API, streaming), at concurrency 1 and 16.
# The mock and the null gateway run as processes of their own, as tracegate does, so every
# call crosses processes. Writes a markdown table to stdout and to $1 (default
# bench-results.md; results are not committed). Each phase is bounded (BENCH_DURATION, default
# 4s, after BENCH_WARMUP, default 1s) and every phase at a concurrency runs BENCH_ROUNDS times
# (default 3), interleaved, each row being the phase's round of median throughput; the whole
# run takes about four minutes (BENCH_ROUNDS=1: a minute and a half). A
# phase that fails (say a 404 before an endpoint exists) is reported in its row and the rest
# still run; the exit status is then 3.
#
# Knobs: BENCH_DURATION, BENCH_WARMUP, BENCH_ROUNDS, BENCH_CONCURRENCY (1,16), BENCH_PHASES, BENCH_SPANS
# (otlp | none), BENCH_MOCK_DELAY, BENCH_CHUNK_DELAY (default 0: the mock sends its chunks
# back to back, so the latency columns measure the relay and not the mock's pauses; the
# "each chunk flushed as it arrives" target then needs the flush check below),
# BENCH_FLUSH_CHECK (default 1; 0 skips it: one extra short run of passthrough-stream at c=1
# with -mock-chunk-delay BENCH_FLUSH_DELAY, default 2ms, whose first byte must come before the
# second upstream chunk is even sent; its verdict is appended to the report),
# BENCH_JSON (a path: also write the JSON report of the main run there), BENCH_CPUPROFILE (a
# path: tracegate writes a CPU profile of the main run there; read it with
# `go tool pprof -top PATH`). Extra arguments after
# $1 go to the main `tracegate-load compare` run as they are.
#
# Other gateways: --peer NAME=URL (repeatable, anywhere on the line) measures the gateway at
# URL (its loopback base URL, e.g. http://127.0.0.1:4000) in the same run, interleaved with
# tracegate's phases, against the same mock, as rows NAME and NAME-stream. The tool cannot
# configure a peer: before the run, point one of its OpenAI-compatible providers at the mock,
# which then listens on the fixed BENCH_MOCK_ADDR (default 127.0.0.1:18999; printed below),
# and route the model gpt-4o-mini to it (README "Comparing with other gateways"). A gateway
# routed per request takes its headers from --peer-header 'NAME=Header: value' (repeatable),
# e.g. Portkey's: --peer-header 'portkey=x-portkey-provider: openai'.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
peers=()
rest=()
while [ $# -gt 0 ]; do
  case $1 in
    --peer) [ $# -ge 2 ] || { echo "bench.sh: --peer needs NAME=URL" >&2; exit 2; }
      peers+=(-peer "$2"); shift 2 ;;
    --peer=*) peers+=(-peer "${1#--peer=}"); shift ;;
    --peer-header) [ $# -ge 2 ] || { echo "bench.sh: --peer-header needs 'NAME=Header: value'" >&2; exit 2; }
      peers+=(-peer-header "$2"); shift 2 ;;
    --peer-header=*) peers+=(-peer-header "${1#--peer-header=}"); shift ;;
    *) rest+=("$1"); shift ;;
  esac
done
set -- "${rest[@]+"${rest[@]}"}"
out=${1:-bench-results.md}
shift || true
mock_addr=127.0.0.1:0
if [ ${#peers[@]} -gt 0 ]; then
  mock_addr=${BENCH_MOCK_ADDR:-127.0.0.1:18999}
  echo "== peers: configure each to send OpenAI chat completions for model gpt-4o-mini to http://$mock_addr/v1 (any API key)" >&2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tracegate-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo "== building tracegate and tracegate-load into $tmp" >&2
(cd "$root" && go build -o "$tmp/tracegate" ./cmd/tracegate && go build -o "$tmp/tracegate-load" ./cmd/tracegate-load)

common=(
  -tracegate-bin "$tmp/tracegate"
  -tracegate-config "$root/scripts/bench-config.yaml"
  -spans "${BENCH_SPANS:-otlp}"
  -mock-delay "${BENCH_MOCK_DELAY:-0s}"
)
args=(
  compare "${common[@]}"
  -concurrency "${BENCH_CONCURRENCY:-1,16}"
  -phases "${BENCH_PHASES:-direct,null,passthrough,run-api,direct-stream,null-stream,passthrough-stream}"
  -d "${BENCH_DURATION:-4s}"
  -warmup "${BENCH_WARMUP:-1s}"
  -rounds "${BENCH_ROUNDS:-3}"
  -mock-chunk-delay "${BENCH_CHUNK_DELAY:-0s}"
  -markdown "$tmp/results.md"
  -mock-upstream "$mock_addr"
  "${peers[@]+"${peers[@]}"}"
)
if [ -n "${BENCH_CPUPROFILE:-}" ]; then
  args+=(-tracegate-cpuprofile "$BENCH_CPUPROFILE")
fi

echo "== running: tracegate-load ${args[*]} $*" >&2
status=0
"$tmp/tracegate-load" "${args[@]}" -json "$@" >"$tmp/results.json" || status=$?

if [ "${BENCH_FLUSH_CHECK:-1}" != 0 ] && [ -f "$tmp/results.md" ]; then
  flush_delay=${BENCH_FLUSH_DELAY:-2ms}
  flush=(
    compare "${common[@]}"
    -concurrency 1 -phases passthrough-stream -d 2s -warmup 500ms
    -mock-chunk-delay "$flush_delay"
    -markdown "$tmp/flush.md"
  )
  echo "== flush check: tracegate-load ${flush[*]}" >&2
  flush_status=0
  "$tmp/tracegate-load" "${flush[@]}" -json >"$tmp/flush.json" || flush_status=$?
  {
    echo
    echo "## Chunk flush check (separate run: passthrough-stream, c=1, -mock-chunk-delay $flush_delay)"
    echo
    echo "| target | measured | verdict |"
    echo "|---|---|---|"
    if [ -f "$tmp/flush.md" ]; then
      grep -F '| streaming: each chunk flushed as it arrives |' "$tmp/flush.md" ||
        echo "| streaming: each chunk flushed as it arrives | no result (exit $flush_status) | n/a |"
    else
      echo "| streaming: each chunk flushed as it arrives | the run failed (exit $flush_status) | n/a |"
    fi
  } >>"$tmp/results.md"
  if [ "$status" = 0 ]; then status=$flush_status; fi
fi

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
