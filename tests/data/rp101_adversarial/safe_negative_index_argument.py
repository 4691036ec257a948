# lrange(key, 0, -1) as a later command: a negative literal cannot fail
# fix: safe
import redis


def main(r: redis.Redis):
    size = r.llen("l")
    items = r.lrange("l", 0, -1)
    bad = r.lrange("a", 0, -1)
    return size, items, bad
