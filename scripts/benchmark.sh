#!/usr/bin/env bash
# The one command that runs the benchmark: installs libhiredis-dev and redis-server when missing, makes sure a Python
# with the `redis` package is at hand for the redis-py reference (a venv in .venv-benchmark/, or `pip install --user`
# when venvs are unavailable), builds stocksim and stocksim-benchmark in release mode the way scripts/stocksim.sh does,
# and runs the benchmark with your arguments.
#   scripts/benchmark.sh                                   # the default: stock 20000, workers 1,2,4,8,16,32,64, 3 rounds,
#                                                          # then the scaling runs; one list of every target
#   scripts/benchmark.sh --workers 1,10 --repeat 5
#   scripts/benchmark.sh --halt-poll 200000                # a VM whose idle vCPUs halt at once: poll 200 µs first,
#                                                          # for this run only (root; the old value is written back)
#   scripts/benchmark.sh --no-scaling                      # the rounds alone, without the scaling runs that follow
#   scripts/benchmark.sh --scaling                         # only how cost grows with orders and workers (~4-5 min)
#   scripts/benchmark.sh --scaling --scaling-orders 10000,100000 --scaling-workers 10,100
set -euo pipefail
cd "$(dirname "$0")/.."
# valgrind: --witness-cost counts the witness's instructions under callgrind.
case " $* " in *" --witness-cost "*) scripts/install-deps.sh valgrind ;; *) scripts/install-deps.sh ;; esac

# A Python that can `import redis`. Without one the benchmark still runs and says that it skipped redis-py.
. scripts/python-redis.sh
python=$(python_with_redis .venv-benchmark benchmark)
if [ -z "$python" ]; then
  echo "benchmark: the redis-py reference will be skipped" >&2
  python=python3
fi

# Statically linked Swift runtime, as scripts/stocksim.sh builds it: the workers' figures match what users run.
swift build -c release --product stocksim --static-swift-stdlib --scratch-path .build-release >&2
swift build -c release --product stocksim-benchmark --static-swift-stdlib --scratch-path .build-release >&2
exec .build-release/release/stocksim-benchmark --python "$python" "$@"
