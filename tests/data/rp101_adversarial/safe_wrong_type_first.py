# the first read fails: the first error is raised
# fix: safe
import redis


def main(r: redis.Redis):
    first = r.lrange("a", 0, -1)
    second = r.get("h")
    return first, second
