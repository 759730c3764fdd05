"""A subtly broken StockSim client (protocol v1, README "Your own client"): it GETs the stock, checks it, then
DECRBYs with no WATCH. Two buyers that read the same count both pass the check, so under load it oversells; StockSim's
audit and per-sale witness are there to catch it. Same redis-py style and protocol as python_watch_client.py.
usage: python_broken_client.py [--race N]
  --race N   make the lost update certain, for tests: the first order of each of N clients waits after its GET until
             all N have read (a counter at KEY:race, for at most 10 s), so all N pass the check on the same stock
"""
import json, os, sys, time
import redis

PROTOCOL = 1


def reply(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def wait_for_racers(r, key, racers):
    """The barrier of --race: counts this client in, then waits (10 s at most) until `racers` clients have read."""
    barrier = f"{key}:race"
    r.incr(barrier)
    deadline = time.monotonic() + 10
    while int(r.get(barrier) or 0) < racers and time.monotonic() < deadline:
        time.sleep(0.005)


def sell(r, order, racers=0):
    keys = [line["key"] for line in order["units"]]
    units = [int(line["units"]) for line in order["units"]]
    ledger, run = order.get("ledger"), order.get("run")
    values = r.mget(keys)
    if None in values:
        return {"order": order["order"], "result": "error", "error": "a stock key does not exist"}
    counts = [int(v) for v in values]
    if any(count < q for count, q in zip(counts, units)):
        return {"order": order["order"], "result": "refused", "stock_left": counts}
    if racers:
        wait_for_racers(r, keys[0], racers)
    # BROKEN: the stock may have changed since the GET; nothing makes the check and the decrement one step.
    left = [r.decrby(key, q) for key, q in zip(keys, units)]
    if ledger:
        for key, q in zip(keys, units):
            r.hsetnx(ledger, f"{order['order']}|{key}", f"{q}/{len(keys)}")
        r.hincrby(run, "ledger_writes", len(keys))
    return {"order": order["order"], "result": "sold", "stock_left": left}


def main():
    if os.environ.get("STOCKSIM_PROTOCOL") != str(PROTOCOL):
        sys.exit(f"python_broken_client: speaks StockSim protocol {PROTOCOL}, not {os.environ.get('STOCKSIM_PROTOCOL')}")
    racers = int(sys.argv[sys.argv.index("--race") + 1]) if "--race" in sys.argv else 0
    r = redis.Redis.from_url(os.environ["STOCKSIM_REDIS_URL"])
    r.ping()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        order = json.loads(line)
        try:
            reply(sell(r, order, racers))
            racers = 0  # Only the first order races on purpose.
        except redis.RedisError as error:
            reply({"order": order["order"], "result": "error", "error": str(error)})


if __name__ == "__main__":
    main()
