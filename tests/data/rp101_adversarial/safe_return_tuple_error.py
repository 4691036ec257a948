# return r.get(a), r.get(h): error on the second
# fix: safe
import redis


def main(r: redis.Redis):
    return r.get("a"), r.get("h")
