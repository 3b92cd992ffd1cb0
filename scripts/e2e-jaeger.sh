#!/usr/bin/env bash
# End-to-end test against a real Jaeger v2 (DESIGN.md section 10), run by .ci/run.
#
#   bash scripts/e2e-jaeger.sh
#
# 1. builds Jaeger v2.13.0 once (scripts/build-jaeger.sh caches it outside the repository),
#    tracegate and the checker scripts/e2echeck into a temporary directory;
# 2. starts Jaeger with scripts/jaeger-config.yaml (in-memory storage, every port on
#    127.0.0.1, free ports chosen at run time) and tracegate with a generated configuration
#    (the repository's prompts/, the mock provider priced by an override, OTLP/HTTP to Jaeger);
# 3. sends real traffic: chained runs of welcome-email (traceId + parentSpanId), the two-turn
#    weather-assistant tool flow (messages continuation), OpenAI-compatible chat
#    completions, plain and streaming, under a traceparent of the test's own, and the Tracia
#    spans API: a run, a span posted as the SDK's run_local does naming the run as parent, an
#    evaluation of that span, read back through GET /api/v1/spans;
# 4. stops tracegate with SIGTERM, which flushes its spans, and asserts the trace trees (the
#    posted span a CLIENT child of its run span, the evaluation an INTERNAL child of it), span
#    names and kinds, GenAI, cost, prompt and evaluation attributes, and trace-id lookups
#    through Jaeger's query API.
# Every process it starts is stopped on exit, whatever happens. The last line is
# "e2e: N passed, M failed"; the exit status is non-zero on any failure.
# E2E_KEEP=1 keeps the temporary directory (logs, configs, state) for inspection.
set -euo pipefail

started=$SECONDS
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/tracegate-e2e.XXXXXX")
tally="$work/tally"
: >"$tally"
jaeger_pid=""
tracegate_pid=""

# The mock model and its price, copied from config.yaml's pricing.overrides.
model=mock-1
price_in=0.0000025
price_out=0.00001

say() { echo "e2e: $*"; }
pass() { echo "ok   - $*"; echo "1 0" >>"$tally"; }
fail() { echo "FAIL - $*"; echo "0 1" >>"$tally"; exit 1; }

# stop PID NAME: SIGTERM, up to 15 s to exit, then SIGKILL; always reaped. Sets stop_status.
stop_status=0
stop() {
  local pid=$1 name=$2 deadline=$((SECONDS + 15))
  stop_status=0
  [ -n "$pid" ] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      say "$name did not exit within 15 s of SIGTERM; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || stop_status=$?
}

cleanup() {
  local rc=$? passed=0 failed=0 p f
  set +e
  trap - INT TERM
  stop "$tracegate_pid" tracegate
  tracegate_pid=""
  stop "$jaeger_pid" jaeger
  jaeger_pid=""
  while read -r p f; do
    passed=$((passed + p))
    failed=$((failed + f))
  done <"$tally"
  if [ "$rc" -ne 0 ] || [ "$failed" -ne 0 ]; then
    for log in tracegate jaeger; do
      if [ -s "$work/$log.log" ]; then
        echo "---- last lines of the $log log ($work/$log.log)"
        tail -n 40 "$work/$log.log"
      fi
    done
    # A setup step that died before any test ran still counts as a failure.
    [ "$failed" -ne 0 ] || failed=1
    [ "$rc" -ne 0 ] || rc=1
  fi
  if [ "${E2E_KEEP:-}" = 1 ]; then
    say "kept $work"
  else
    rm -rf "$work"
  fi
  say "finished in $((SECONDS - started)) s"
  say "$passed passed, $failed failed"
  exit "$rc"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT
trap 'say "terminated"; exit 143' TERM

# wait_ready NAME PID URL SECONDS: poll URL until it answers 200, the process dies, or time is up.
wait_ready() {
  local name=$1 pid=$2 url=$3 deadline=$((SECONDS + $4))
  until "$work/bin/e2echeck" probe "$url" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || fail "$name exited during startup (see its log below)"
    [ "$SECONDS" -lt "$deadline" ] || fail "$name not ready at $url within $4 s"
    sleep 0.2
  done
}

command -v go >/dev/null || fail "go is not on PATH"
# The test's own settings only: an OTEL_* variable in the caller's environment (a sampler, a
# disabled SDK, another endpoint) must not change what tracegate exports.
for v in $(compgen -e); do
  case $v in OTEL_*) unset "$v" ;; esac
done

say "building Jaeger v2 (cached outside the repository after the first build)"
jaeger_bin=$(bash "$repo/scripts/build-jaeger.sh") || fail "building Jaeger failed"
[ -x "$jaeger_bin" ] || fail "build-jaeger.sh printed no executable: $jaeger_bin"

say "building tracegate and the checker"
mkdir -p "$work/bin"
(cd "$repo" && go build -o "$work/bin/tracegate" ./cmd/tracegate) || fail "go build ./cmd/tracegate failed"
(cd "$repo" && go build -o "$work/bin/e2echeck" ./scripts/e2echeck) || fail "go build ./scripts/e2echeck failed"

# Free loopback ports, so that neither a Jaeger already on the machine nor a parallel run clashes.
mapfile -t ports < <("$work/bin/e2echeck" ports 6)
[ "${#ports[@]}" -eq 6 ] || fail "could not find free ports"
export E2E_JAEGER_OTLP_GRPC_PORT=${ports[0]} E2E_JAEGER_OTLP_HTTP_PORT=${ports[1]}
export E2E_JAEGER_QUERY_GRPC_PORT=${ports[2]} E2E_JAEGER_QUERY_HTTP_PORT=${ports[3]}
export E2E_JAEGER_HEALTH_PORT=${ports[4]}
tracegate_port=${ports[5]}
jaeger_query="http://127.0.0.1:$E2E_JAEGER_QUERY_HTTP_PORT"

say "starting Jaeger: OTLP/HTTP 127.0.0.1:$E2E_JAEGER_OTLP_HTTP_PORT, query $jaeger_query"
"$jaeger_bin" --config "file:$repo/scripts/jaeger-config.yaml" >"$work/jaeger.log" 2>&1 &
jaeger_pid=$!
wait_ready jaeger "$jaeger_pid" "http://127.0.0.1:$E2E_JAEGER_HEALTH_PORT/status" 60
wait_ready "jaeger query" "$jaeger_pid" "$jaeger_query/api/services" 10
pass "Jaeger v2 is up on 127.0.0.1 (in-memory storage)"

# tracegate expands ${VAR} in its configuration: a '$' in the checkout's path must stay literal.
prompts_dir=${repo//\$/\$\$}
service="tracegate-e2e-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
cat >"$work/tracegate.yaml" <<EOF
# Generated by scripts/e2e-jaeger.sh.
server:
  listen: 127.0.0.1:$tracegate_port
  auth_keys: []
  shutdown_grace: 5s
registry:
  sources:
    - type: file
      path: "$prompts_dir/prompts"
providers:
  - {name: mock, type: mock}
routes:
  - {match: "mock-*", provider: mock}
pricing:
  overrides:
    $model: {input_per_token: $price_in, output_per_token: $price_out}
spans:
  exporter: otlp
  protocol: http
  endpoint: http://127.0.0.1:$E2E_JAEGER_OTLP_HTTP_PORT
  service_name: $service
  capture_content: false
log: {level: info, format: text}
EOF
"$work/bin/tracegate" -config "$work/tracegate.yaml" -check-config >/dev/null 2>"$work/tracegate.log" ||
  fail "tracegate -check-config rejected the generated configuration"

say "starting tracegate on 127.0.0.1:$tracegate_port (service.name $service)"
"$work/bin/tracegate" -config "$work/tracegate.yaml" >>"$work/tracegate.log" 2>&1 &
tracegate_pid=$!
wait_ready tracegate "$tracegate_pid" "http://127.0.0.1:$tracegate_port/readyz" 30

say "traffic through tracegate"
traffic_rc=0
"$work/bin/e2echeck" traffic -tracegate "http://127.0.0.1:$tracegate_port" -state "$work/state.json" \
  -tally "$tally" -service "$service" -model "$model" -price-in "$price_in" -price-out "$price_out" || traffic_rc=$?
[ -s "$work/state.json" ] || fail "the traffic step wrote no state (exit $traffic_rc)"

# SIGTERM drains and flushes the span queue at once: the batch exporter's 5 s timer never
# has to fire, so the spans found below prove the flush-on-shutdown path.
say "stopping tracegate with SIGTERM (flushes its spans)"
stop "$tracegate_pid" tracegate
tracegate_pid=""
[ "$stop_status" -eq 0 ] || fail "tracegate exited with status $stop_status after SIGTERM"
if grep -q "span flush incomplete" "$work/tracegate.log"; then
  fail "tracegate could not flush its spans at shutdown"
fi
pass "tracegate drained, flushed its spans and exited 0 on SIGTERM"

say "asserting the traces through Jaeger's query API"
verify_rc=0
"$work/bin/e2echeck" verify -jaeger "$jaeger_query" -state "$work/state.json" -tally "$tally" -timeout 30s || verify_rc=$?
[ "$traffic_rc" -eq 0 ] && [ "$verify_rc" -eq 0 ] || exit 1
