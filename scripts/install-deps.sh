#!/usr/bin/env bash
# Installs what StockSim needs from Debian/Ubuntu packages when it is missing: libhiredis-dev (the C client the
# Hiredis module wraps), redis-server (the embedded default and the tests start private instances of it) and iproute2
# (`ip netns`, with which the tests of several hosts give each host a network stack of its own), and the tools
# named as arguments.
set -euo pipefail

missing=()
[ -f /usr/include/hiredis/hiredis.h ] || missing+=(libhiredis-dev)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || missing+=(iproute2)
# Extra tools a caller needs, each named as its command and its package (scripts/benchmark.sh: valgrind).
for tool in "$@"; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then sudo=(); elif command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
  echo "install-deps: ${missing[*]} missing and neither root nor sudo is available; install them: apt-get install ${missing[*]}" >&2
  exit 1
fi
command -v apt-get >/dev/null 2>&1 || { echo "install-deps: no apt-get here; install ${missing[*]} with your package manager" >&2; exit 1; }
echo "install-deps: installing ${missing[*]}" >&2
"${sudo[@]}" apt-get update -qq
# policy-rc.d keeps the package from starting a system-wide redis-server: StockSim never uses one it did not start.
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
