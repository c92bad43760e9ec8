#!/usr/bin/env bash
# CPU time per request of a running /predict server (user + system, from
# /proc/PID/stat), under an open-loop load of bench/loadgen. CPU time is what a busy
# shared machine distorts least (unlike req/s or latency).
#
#   bash bench/cpuperreq.sh PID [RATE] [DURATION]     # defaults 5000 req/s, 10s
#
# e.g. with `go run ./bench/predictstack --store spool-only` (or --bare) running:
#   bash bench/cpuperreq.sh "$(pgrep -n predictstack)" 5000 10s
#
# With PPROF=host:port (predictstack --pprof-addr) it also takes a CPU profile over
# the measured run and splits it per request with bench/cpusplit: the store
# (FerretDB + SQLite; the mongo driver on its own line), the spool, the GC, the rest
# of the runtime and the service. The profile is kept in $PROFILE (default
# /tmp/modelmon-cpuperreq.prof). URL=... for another address than :9696.
#   PPROF=127.0.0.1:6060 bash bench/cpuperreq.sh "$PID" 2000 10s
set -euo pipefail
pid=$1 rate=${2:-5000} dur=${3:-10s}
url=${URL:-http://127.0.0.1:9696/predict}
prof=${PROFILE:-/tmp/modelmon-cpuperreq.prof}
go build -o /tmp/modelmon-loadgen ./bench/loadgen
/tmp/modelmon-loadgen -url "$url" -rate "$rate" -duration 2s -warmup 1s >/dev/null # warm-up
hz=$(getconf CLK_TCK)
secs=${dur%s}
if [ -n "${PPROF:-}" ]; then
  # The profile spans the measured run (loadgen starts at once, without warm-up).
  curl -fsS -o "$prof" "http://$PPROF/debug/pprof/profile?seconds=$secs" &
  CURL=$!
fi
t0=$(awk '{print $14+$15}' "/proc/$pid/stat")
out=$(/tmp/modelmon-loadgen -url "$url" -rate "$rate" -duration "$dur" -warmup 0s 2>&1)
t1=$(awk '{print $14+$15}' "/proc/$pid/stat")
echo "$out"
n=$(echo "$out" | grep -oE 'answered [0-9]+' | grep -oE '[0-9]+')
awk -v t="$((t1 - t0))" -v hz="$hz" -v n="$n" 'BEGIN { printf "CPU %.2f s for %d requests: %.1f us per request\n", t / hz, n, t / hz / n * 1e6 }'
if [ -n "${PPROF:-}" ]; then
  wait "$CURL"
  go run ./bench/cpusplit -profile "$prof" -requests "$n"
fi
