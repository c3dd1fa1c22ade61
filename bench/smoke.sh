#!/bin/sh
# CI smoke for `sigctl bench` (npm run smoke): every scenario briefly against a local server, with
# gates that catch breakage (a failed pair, a lost or duplicated signal) rather than slowness on a
# shared CI machine. Exits 3 when a gate is missed. Needs a build (npm run build).
set -eu
sigctl="node $(dirname "$0")/../bin/sigctl"
$sigctl bench signaling --clients 100 --rate 5 --duration 3 --max-failures 0 --max-relay-p99 500 --max-join-p95 5000
$sigctl bench connect --pairs 4 --max-failures 0 --max-join-p95 15000
$sigctl bench throughput --duration 2 --max-failures 0 --min-mbps 0.1
