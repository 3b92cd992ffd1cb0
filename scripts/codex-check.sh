#!/usr/bin/env bash
# Optional, by hand: checks Codex CLI (npm @openai/codex, which ships its native binary) through
# tracegate with wire_api = "responses", on an OpenAI-Responses route, an Anthropic route and a
# Chat-Completions-only route (wire_api: chat),
# against scripts/codexcheck's fake provider on loopback. Each route must go round Codex's shell
# tool loop: a tool call, Codex runs `echo`, and the final answer quotes its output.
# Not part of CI: it downloads Codex from npm. Usage: scripts/codex-check.sh [codex-version]
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:-0.169.0}"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

( cd "$work" && npm install --no-audit --no-fund --silent "@openai/codex@$version" >/dev/null )
go build -o "$work/tracegate" ./cmd/tracegate
go build -o "$work/fake" ./scripts/codexcheck
mkdir -p "$work/dump" "$work/home/.codex" "$work/project"
"$work/fake" -port-file "$work/fake.addr" -dump "$work/dump" 2>"$work/fake.log" &
for _ in $(seq 50); do [ -s "$work/fake.addr" ] && break; sleep 0.1; done
fake="$(cat "$work/fake.addr")"
cat >"$work/tracegate.yaml" <<YAML
server: {listen: "127.0.0.1:18089", max_body_bytes: 16777216}
registry: {sources: [{type: file, path: ./prompts}]}
providers:
  - {name: openai, type: openai, base_url: "http://$fake/v1", api_key: sk-fake}
  - {name: anthropic, type: anthropic, base_url: "http://$fake", api_key: sk-ant-fake}
  - {name: local, type: openai, wire_api: chat, base_url: "http://$fake/v1", api_key: sk-local-fake}
routes:
  - {match: "local-*", provider: local}
  - {match: "gpt-*", provider: openai}
  - {match: "claude-*", provider: anthropic}
spans: {exporter: none}
YAML
"$work/tracegate" -config "$work/tracegate.yaml" 2>"$work/tracegate.log" &
for _ in $(seq 50); do curl -sf http://127.0.0.1:18089/healthz >/dev/null && break; sleep 0.1; done
cat >"$work/home/.codex/config.toml" <<TOML
model_provider = "tracegate"
[model_providers.tracegate]
name = "tracegate"
base_url = "http://127.0.0.1:18089/v1"
wire_api = "responses"
env_key = "TRACEGATE_KEY"
request_max_retries = 0
stream_max_retries = 0
TOML
status=0
for model in gpt-5.4 claude-sonnet-4-5 local-llama; do
	out="$work/$model.out"
	( cd "$work/project" && HOME="$work/home" CODEX_HOME="$work/home/.codex" TRACEGATE_KEY=x timeout 120 \
		"$work/node_modules/.bin/codex" exec -m "$model" --skip-git-repo-check --dangerously-bypass-approvals-and-sandbox \
		"Run echo via the shell tool" </dev/null >"$out" 2>&1 ) || true
	if grep -q "The tool printed codexcheck-tool-ran" "$out" && grep -q "^codexcheck-tool-ran" "$out"; then
		echo "ok: codex $version through tracegate, $model"
	else
		echo "FAIL: codex $version through tracegate, $model"; cat "$out"; status=1
	fi
done
cat "$work/fake.log"
exit $status
