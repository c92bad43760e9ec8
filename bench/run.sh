#!/usr/bin/env bash
# Reproduces bench/README.md: the raw InsertMany rate of the embedded FerretDB, then
# /predict under wrk (max throughput) and under loadgen (fixed rate, latency), with
# every record logged to the embedded FerretDB. Bounded: about a minute in all.
#
#   bash bench/run.sh                # defaults below
#   WRK_CONNS=128 RATE=3000 bash bench/run.sh
#   STACK_FLAGS="--batch-delay 1ms" bash bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNS=${WRK_CONNS:-64}
WRK_DURATION=${WRK_DURATION:-10s}
RATE=${RATE:-2000}
RATE_DURATION=${RATE_DURATION:-10s}
RAW_N=${RAW_N:-30000}
RAW_BATCH=${RAW_BATCH:-64}
ADDR=${ADDR:-127.0.0.1:9696}
STACK_FLAGS=${STACK_FLAGS:-}

bin=$(mktemp -d)
trap 'kill "$stack_pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$bin"' EXIT
stack_pid=
go build -o "$bin/" ./bench/predictstack ./bench/insertrate ./bench/loadgen

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

echo "== machine: $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== raw InsertMany rate of the embedded FerretDB (batch $RAW_BATCH)"
/usr/bin/time -f "   raw CPU: %U s user + %S s system" "$bin/insertrate" -n "$RAW_N" -batch "$RAW_BATCH"

echo "== predictstack (embedded FerretDB + online service) on $ADDR $STACK_FLAGS"
# shellcheck disable=SC2086
"$bin/predictstack" --online-addr "$ADDR" --log-level warn $STACK_FLAGS &
stack_pid=$!
for _ in $(seq 100); do
  curl -fsS "http://$ADDR/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "http://$ADDR/readyz"; echo

echo "== wrk -t$WRK_THREADS -c$WRK_CONNS -d$WRK_DURATION (load average $(cut -d' ' -f1 /proc/loadavg))"
before=$(cpu_ticks "$stack_pid")
wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"$WRK_DURATION" --latency -s bench/predict.lua "http://$ADDR/predict" | tee "$bin/wrk.txt"
after=$(cpu_ticks "$stack_pid")
requests=$(awk '/requests in/ {print $1}' "$bin/wrk.txt")
awk -v t=$((after - before)) -v hz="$hz" -v n="$requests" \
  'BEGIN { printf "   stack CPU during wrk: %.2f s, %.0f us per request\n", t / hz, t / hz / n * 1e6 }'
echo "   prediction log: $(curl -fsS "http://$ADDR/debug/stats")"

echo "== loadgen at $RATE req/s for $RATE_DURATION (load average $(cut -d' ' -f1 /proc/loadavg))"
"$bin/loadgen" -url "http://$ADDR/predict" -rate "$RATE" -duration "$RATE_DURATION"
echo "   prediction log: $(curl -fsS "http://$ADDR/debug/stats")"

kill -INT "$stack_pid"
wait "$stack_pid" || true
stack_pid=
