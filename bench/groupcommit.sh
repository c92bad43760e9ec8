#!/usr/bin/env bash
# Group-commit settings on the embedded FerretDB: the raw InsertMany rate, then for
# each setting predictstack under wrk -t2 -c64 (throughput, records per InsertMany)
# and loadgen at 2,000 req/s (p99), then the raw rate again. The table of
# bench/README.md ("Group commit settings") comes from it.
#   bash bench/groupcommit.sh ["--log-batch-delay 1ms" ...]   # default: the README's settings
set -uo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/predictstack" ./bench/predictstack
go build -o "$work/loadgen" ./bench/loadgen
go build -o "$work/insertrate" ./bench/insertrate
settings=("$@")
[ ${#settings[@]} -eq 0 ] && settings=("" "--log-batch-delay 500us" "--log-batch-delay 2ms" "--log-batch-size 64" "--log-writers 2" "")
ADDR=127.0.0.1:$((40000 + RANDOM % 20000))
counts() { grep -oE '"(batches|records|max_batch)":[0-9]+' | tr '\n' ' '; }
echo "raw: $("$work/insertrate" -n 30000 -batch 64 2>&1 | tail -1)"
for setting in "${settings[@]}"; do
  # shellcheck disable=SC2086 # a setting is a flag and its value
  "$work/predictstack" --online-addr "$ADDR" --log-level warn --dir "$work/db" $setting 2>"$work/stack.log" &
  P=$!
  for _ in $(seq 100); do curl -fsS "http://$ADDR/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
  w=$(wrk -t2 -c64 -d10s --latency -s bench/predict.lua "http://$ADDR/predict" 2>&1)
  s1=$(curl -s "http://$ADDR/debug/stats" | counts)
  lg=$("$work/loadgen" -url "http://$ADDR/predict" -rate 2000 -duration 10s -warmup 1s 2>&1 | tail -2 | tr '\n' ' ')
  echo "[${setting:-defaults}] load $(cut -d' ' -f1 /proc/loadavg); wrk -c64: $(echo "$w" | awk '/Requests\/sec/{print $2}') req/s, p99 $(echo "$w" | awk '$1=="99%"{print $2}'), $(echo "$w" | grep -c Non-2xx) non-2xx lines; after wrk: $s1; loadgen 2000: $lg"
  kill -INT $P; wait $P; rm -rf "$work/db"
done
echo "raw: $("$work/insertrate" -n 30000 -batch 64 2>&1 | tail -1)"
