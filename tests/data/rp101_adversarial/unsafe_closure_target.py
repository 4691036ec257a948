# a closure sees the first result
# fix: unsafe
import redis


def main(r: redis.Redis):
    seen = []

    def peek():
        return a

    try:
        a = r.get("a")
        b = r.get("h")
    except redis.ResponseError:
        return "err", seen
    return a, b, peek()
