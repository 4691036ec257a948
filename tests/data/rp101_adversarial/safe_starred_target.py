# a starred target
# fix: safe
import redis


def main(r: redis.Redis):
    head, *tail = r.lrange("l", 0, -1)
    size = r.scard("s")
    return head, tail, size
