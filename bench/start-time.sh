#!/usr/bin/env bash
# Seconds from `npm start` to the sidecar's "canary-judge started" log line (README, "Start"). Run it from
# the repository root, under the shared CPU lock: `flock /work/coord/cpu.lock bench/start-time.sh`.
# Ports 0 and a throw-away database, so it runs beside anything else.
set -euo pipefail
dir=$(mktemp -d)
log="$dir/out.log"
export CANARY_JUDGE_OTLP_GRPC_PORT=0 CANARY_JUDGE_OTLP_HTTP_PORT=0 CANARY_JUDGE_API_PORT=0
export CANARY_JUDGE_LOG_FORMAT=json CANARY_JUDGE_STORAGE_PATH="$dir/state.sqlite"
start=$(date +%s.%N)
setsid npm start >"$log" 2>&1 &
pid=$!
until grep -q 'canary-judge started' "$log"; do sleep 0.05; done
end=$(date +%s.%N)
kill -TERM -- "-$pid"
wait "$pid" || true
rm -rf "$dir"
echo "$end - $start" | bc
