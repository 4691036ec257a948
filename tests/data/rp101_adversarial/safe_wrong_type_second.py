# the second read gets WRONGTYPE: same message, not the pipeline's
# fix: safe
import redis


def main(r: redis.Redis):
    first = r.get("a")
    second = r.get("h")
    return first, second
