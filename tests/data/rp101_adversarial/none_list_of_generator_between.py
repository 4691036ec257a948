# list() consumes a generator that writes
# fix: none
import redis


def writes(r):
    for k in ("b", "c"):
        r.set(k, "gen")
        yield k


def main(r: redis.Redis):
    a = r.get("a")
    list(writes(r))
    b = r.get("b")
    return a, b
