# a consumer, then a quiet binding that a later key reads: the binding stays in place
# fix: unsafe
import redis


def main(r: redis.Redis):
    out = []
    a = r.get("ptr")
    out.append(a)
    key = "b"
    b = r.get(key)
    return out, b
