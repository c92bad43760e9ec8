#!/usr/bin/env bash
# Fixed-rate load against bench/predictstack (embedded FerretDB + the service with its
# spool), RSS sampled every second, and at the end a check that every id answered 200
# is stored. Usage: bash bench/load.sh [--duration 60s] [--rate 5000] [--conns 128]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=60s RATE=5000 CONNS=128
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --conns) CONNS=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
work=$(mktemp -d)
trap 'kill $STACK 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/predictstack" ./bench/predictstack
go build -o "$work/loadgen" ./bench/loadgen
go build -o "$work/checkids" ./bench/checkids
FERRET=127.0.0.1:$((20000 + RANDOM % 20000))
ADDR=127.0.0.1:$((40000 + RANDOM % 20000))
"$work/predictstack" --online-addr "$ADDR" --dir "$work/db" --ferret-addr "$FERRET" \
  --spool-dir "$work/spool" --log-level warn 2>"$work/stack.log" &
STACK=$!
for _ in $(seq 100); do curl -fsS "http://$ADDR/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
( while kill -0 $STACK 2>/dev/null; do
    echo "$(date +%s) $(awk '/VmRSS/{print $2}' /proc/$STACK/status 2>/dev/null)"; sleep 1
  done ) >"$work/rss.txt" &
"$work/loadgen" -url "http://$ADDR/predict" -rate "$RATE" -duration "$DURATION" -warmup 2s \
  -conns "$CONNS" -ok-ids "$work/ok.txt" | tee "$work/loadgen.txt"
# Let the spool drain (if anything was spooled), then check.
for _ in $(seq 100); do
  curl -fsS "http://$ADDR/readyz" | grep -q '"spool_records":0' && break; sleep 0.3
done
"$work/checkids" -ids "$work/ok.txt" -mongodb "mongodb://$FERRET" -prefix lg-
echo "RSS kB (first, min, max, last):"
awk 'NF==2{v[NR]=$2; if(min==""||$2<min)min=$2; if($2>max)max=$2} END{print v[1], min, max, v[NR]}' "$work/rss.txt"
kill -INT $STACK; wait $STACK || true
grep -E 'level=(ERROR|WARN)' "$work/stack.log" | head -5 || true
if grep -q 'status map\[200:' "$work/loadgen.txt" && ! grep -qE 'status map\[.*[0-9]{3}:.*[0-9]{3}:' "$work/loadgen.txt" && grep -q 'transport errors 0' "$work/loadgen.txt"; then
  echo "PASS: zero errors"
else
  echo "FAIL: errors (see loadgen output above)"; exit 1
fi
