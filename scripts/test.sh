#!/usr/bin/env bash
# The one command that runs the tests: installs libhiredis-dev and redis-server when missing, then `swift test`.
# Every test starts its own redis-server on a free loopback port with a temp dir, and stops it. The example clients'
# tests run under the Python in $STOCKSIM_TEST_PYTHON.
#   scripts/test.sh                  # the whole suite
#   scripts/test.sh --sanitize       # the whole suite again under AddressSanitizer + LeakSanitizer (.build-asan/)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
# The example clients' tests need a Python with redis-py (a venv in .venv-test/ when python3 lacks it); without one
# they are skipped and say why.
. scripts/python-redis.sh
STOCKSIM_TEST_PYTHON=$(python_with_redis .venv-test test)
export STOCKSIM_TEST_PYTHON
if [ "${1:-}" = "--sanitize" ]; then
  shift
  # LeakSanitizer runs at exit in every process, the worker processes included; a leak fails the run.
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:${ASAN_OPTIONS:-}"
  # Only leaks inside the toolchain's own libraries are suppressed; each is named and explained in the file.
  export LSAN_OPTIONS="suppressions=$PWD/.ci/lsan.supp:${LSAN_OPTIONS:-}"
  # Every test is a Swift Testing test: skip the empty XCTest pass, whose runner leaks a few objects of its own.
  exec swift test --scratch-path .build-asan --sanitize=address --disable-xctest "$@"
fi
exec swift test --disable-xctest "$@"
