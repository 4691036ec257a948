# one name bound twice, the first command fails
# fix: safe
import redis


def main(r: redis.Redis):
    v = r.hget("a", "f")
    v = r.get("b")
    return v
