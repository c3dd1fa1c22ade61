#!/bin/sh
# The floor relay (src/bench/floor.ts) standalone: the thinnest room relay on `ws`, for comparing
# other servers with the same load clients. Usage: bench/floor.sh [PORT]   (default: a free port)
# Then: sigctl bench signaling --url ws://127.0.0.1:PORT/ws ...   Needs a build (npm run build).
set -eu
exec node "$(dirname "$0")/../bin/sigctl" bench floor --port "${1:-0}"
