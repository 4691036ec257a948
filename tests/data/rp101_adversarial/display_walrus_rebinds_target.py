# a walrus in a later argument rebinds a name an earlier binding reads
# fix: display-only
import redis


def main(r: redis.Redis):
    d = {}
    k = "first"
    d[k] = r.get("a")
    w = r.get((k := "b"))
    return d, w, k
