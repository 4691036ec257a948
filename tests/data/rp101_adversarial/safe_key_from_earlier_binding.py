# k bound by a wrapped result, then d[k] = ... (order of bindings)
# fix: safe
import redis


def main(r: redis.Redis):
    d = {}
    k = str(r.get("a"))
    v = r.get("b")
    d[k] = v
    return d
