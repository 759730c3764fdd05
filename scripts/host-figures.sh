#!/usr/bin/env bash
# The figures of a run over several hosts (issue 12), on this machine, with network namespaces as the hosts:
# the same 8 workers as 1 host × 8 and as 2 hosts × 4, and the coordination's cost (last registration → start
# instant → first sale, stream traffic per host per second). Needs root and iproute2; builds stocksim in release.
#   scripts/host-figures.sh [REPEATS] [STOCK]
# One redis-server in the root namespace, bound to the veths' root-side addresses; every host reaches it over its
# own veth. Namespaces and veths are removed on exit, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-3}
stock=${2:-40000}
[ "$(id -u)" = 0 ] || { echo "host-figures.sh: needs root for network namespaces" >&2; exit 2; }
swift build -c release --product stocksim >/dev/null
bin=$(swift build -c release --show-bin-path)/stocksim
tag=$(printf '%04x' $((RANDOM % 65536)))
subnet=$((RANDOM % 256))
work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
cleanup() {
  [ -f "$work/redis.pid" ] && kill "$(cat "$work/redis.pid")" 2>/dev/null || true
  for i in 0 1; do ip netns del "ss-$$-$tag-$i" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
for i in 0 1; do
  ns="ss-$$-$tag-$i"
  ip netns add "$ns"
  ip link add "ss${tag}r$i" type veth peer name "ss${tag}n$i"
  ip link set "ss${tag}n$i" netns "$ns"
  ip addr add "10.213.$subnet.$((4 * i + 1))/30" dev "ss${tag}r$i"
  ip link set "ss${tag}r$i" up
  ip -n "$ns" link set lo up
  ip -n "$ns" addr add "10.213.$subnet.$((4 * i + 2))/30" dev "ss${tag}n$i"
  ip -n "$ns" link set "ss${tag}n$i" up
done
redis-server --port "$port" --bind "127.0.0.1 10.213.$subnet.1 10.213.$subnet.5" --save "" --appendonly no \
  --protected-mode no --dir "$work" --logfile "$work/redis.log" --pidfile "$work/redis.pid" --daemonize yes
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
url() { echo "redis://10.213.$subnet.$((4 * $1 + 1)):$port"; }
in_ns() { local i=$1; shift; ip netns exec "ss-$$-$tag-$i" "$@"; }

summary() { # FILE LABEL
  python3 - "$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
line = f"{sys.argv[2]:<16} {r['units_per_second']:>9.0f} units/s  {r['elapsed_seconds']:6.2f} s  audit {'passed' if r['audit']['passed'] else 'FAILED'}"
c = r.get('coordination')
if c:
    line += (f"  last-registration→start {c['last_registration_to_start_ms']:.1f} ms"
             f"  →first-sale {c['last_registration_to_first_sale_ms']:.1f} ms"
             f"  stream {c['stream_bytes_per_host_per_second']:.0f} B/s {c['stream_entries_per_host_per_second']:.2f} entries/s per host")
    for h in r['hosts']:
        line += f"\n{'':<18}{h['name']}: {h['workers']} workers {h['units_per_second']:.0f} units/s p99 {h['latency_p99_us']} µs clock rtt {h['clock_round_trip_us']} µs release lag {h['release_lag_us']} µs"
print(line)
PY
}
for strategy in lua watch; do
  s=$stock
  [ "$strategy" = watch ] && s=$((stock / 4))
  echo "== $strategy, stock $s, 8 workers in all =="
  for n in $(seq "$repeats"); do
    in_ns 0 "$bin" run --redis "$(url 0)" --workers 8 --stock "$s" --strategy "$strategy" --json --quiet \
      >"$work/one.json"
    summary "$work/one.json" "1 host × 8"
    in_ns 1 "$bin" join --redis "$(url 1)" --host-name b --workers 4 --quiet >/dev/null &
    joiner=$!
    in_ns 0 "$bin" run --redis "$(url 0)" --hosts 2 --host-name a --workers 4 --stock "$s" --strategy "$strategy" \
      --json --quiet >"$work/two.json"
    wait "$joiner"
    summary "$work/two.json" "2 hosts × 4"
  done
done
