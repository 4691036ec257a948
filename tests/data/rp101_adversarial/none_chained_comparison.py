# a chained comparison short-circuits
# fix: none
import redis


def main(r: redis.Redis):
    return r.get("a") == "9" == r.incr("counter")
