"""A correct StockSim client (protocol v1, README "Your own client"): WATCH / GET / MULTI / DECRBY / HSETNX / EXEC,
retried on WatchError, in the reference snippet's redis-py style.

StockSim starts it once per worker with STOCKSIM_REDIS_URL, STOCKSIM_KEYS, STOCKSIM_WORKER and STOCKSIM_PROTOCOL=1 in
its environment (the password only there, never in argv), reads `ready`, then writes one JSON order per line on stdin
and reads one JSON outcome per line on stdout. End of stdin means stop.
usage: python_watch_client.py
"""
import json, os, sys
import redis
from redis import WatchError

PROTOCOL = 1


def reply(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def sell(r, order):
    keys = [line["key"] for line in order["units"]]
    units = [int(line["units"]) for line in order["units"]]
    ledger, run = order.get("ledger"), order.get("run")
    with r.pipeline() as pipe:
        while True:
            try:
                pipe.watch(*keys)
                values = pipe.mget(keys)
                if None in values:
                    pipe.unwatch()
                    return {"order": order["order"], "result": "error", "error": "a stock key does not exist"}
                counts = [int(v) for v in values]
                if any(count < q for count, q in zip(counts, units)):
                    pipe.unwatch()
                    return {"order": order["order"], "result": "refused", "stock_left": counts}
                pipe.multi()
                for key, q in zip(keys, units):
                    pipe.decrby(key, q)
                if ledger:
                    for key, q in zip(keys, units):
                        pipe.hsetnx(ledger, f"{order['order']}|{key}", f"{q}/{len(keys)}")
                    pipe.hincrby(run, "ledger_writes", len(keys))
                left = pipe.execute()[: len(keys)]
                return {"order": order["order"], "result": "sold", "stock_left": left}
            except WatchError:
                continue


def main():
    if os.environ.get("STOCKSIM_PROTOCOL") != str(PROTOCOL):
        sys.exit(f"python_watch_client: speaks StockSim protocol {PROTOCOL}, not {os.environ.get('STOCKSIM_PROTOCOL')}")
    r = redis.Redis.from_url(os.environ["STOCKSIM_REDIS_URL"])
    r.ping()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        order = json.loads(line)
        try:
            reply(sell(r, order))
        except redis.RedisError as error:
            # The outcome is unknown to this client (a lost EXEC reply may have committed): say error, not refused.
            reply({"order": order["order"], "result": "error", "error": str(error)})


if __name__ == "__main__":
    main()
