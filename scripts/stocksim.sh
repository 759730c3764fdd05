#!/usr/bin/env bash
# The one command that runs a simulation: installs libhiredis-dev and redis-server when missing, builds stocksim in
# release mode and runs it with your arguments (default: `run`, on an embedded redis-server).
#   scripts/stocksim.sh                         # stocksim run
#   scripts/stocksim.sh run --workers 16 --strategy lua --stock 50000
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# Statically linked Swift runtime: workers start faster and use less memory (the Docker image builds it the same way).
swift build -c release --product stocksim --static-swift-stdlib --scratch-path .build-release >&2
[ $# -eq 0 ] && set -- run
exec .build-release/release/stocksim "$@"
