#!/bin/bash
# Link coalescing against the default (issue 17): bench/multinode-perf.mjs --stat (perf stat of both
# `sigctl serve --redis` nodes over 7 s of the steady window of 2,000 signals/s) for every room
# spanning the nodes with redis.links.coalesceMs 0 (default), 20 and 50, for every room whole on
# one node of the two, and for one node alone holding every room; three rounds, interleaved.
# Prints a Markdown table. Needs perf, redis-server, a build.
#
#   npm run build && flock /work/bench.lock bash bench/multinode-stat-series.sh
#
# DURATION=40 DELAY=30 (environment) counts 7 s starting 30 s into a 40 s steady window instead of
# 7 s from its start (bench/multinode-perf.mjs --duration / --delay): the nodes long warmed up.
# RATE=30 sends 30 signals/s per client (6,000/s) instead of 10; PIN=1 runs every case with
# multinode-perf.mjs --pin (nodes and redis-server on the first half of the CPUs, the generator on
# the rest); CASES="default rooms one" picks cases (default: the first five); ROUNDS=5 sets the rounds.
# Cases floor, floor-rooms and floor-one are default, rooms and one on the two-node floor
# (bench/floor-node.mjs, multinode-perf.mjs --floor) instead of sigctl nodes.
# The last column is the nodes' user / system CPU over the same 7 s (/proc, 10 ms ticks).
set -euo pipefail
duration=${DURATION:-10}
delay=${DELAY:-0}
rate=${RATE:-10}
pin=${PIN:+--pin}
cases=${CASES:-default c20 c50 rooms one}
rounds=${ROUNDS:-3}
cd "$(dirname "$0")/.."
echo "started $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg), build $(git rev-parse --short HEAD), steady window ${duration} s, counted from ${delay} s, ${rate} signals/s per client${pin:+, pinned}"
printf '| rep | case | node CPU ms (cpu-clock, every thread of the nodes, 7 s) | system calls | writev | read | context switches | wake-ups | relay p50 ms | user / system CPU ms (/proc) |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n'
for rep in $(seq 1 "$rounds"); do for c in $cases; do
  case $c in default) a="--spread members";; c20) a="--spread members --node-env SIGCTL_REDIS_LINKS_COALESCE_MS=20";; c50) a="--spread members --node-env SIGCTL_REDIS_LINKS_COALESCE_MS=50";; rooms) a="--spread rooms";; one) a="--one-node";; floor) a="--floor --spread members";; floor-rooms) a="--floor --spread rooms";; floor-one) a="--floor --one-node";; esac
  node bench/multinode-perf.mjs --stat $a $pin --rate "$rate" --duration "$duration" --delay "$delay" --out /tmp/st-$c-$rep.txt > /tmp/strun-$c-$rep.log 2>&1
  # Summed over every thread of the nodes (the main threads, and V8's and libuv's helpers).
  s() { grep "$1" /tmp/st-$c-$rep.txt | awk '$2+0>0 {s+=$2} END {printf "%.0f", s}'; }
  echo "| $rep | $c | $(s cpu-clock) | $(s raw_sys) | $(s writev) | $(s sys_enter_read) | $(s context) | $(s wakeup) | $(node -e "const j=require(process.cwd() + '/.bench-out/multinode-perf.json'); console.log(j.results.runs[0].steady.relayLatencyMs.p50)") | $(awk '/user-ms/ {print $3 " / " $5}' /tmp/st-$c-$rep.txt) |"
done; done
echo "finished $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
