# a try whose handler returns a constant
# fix: safe
import redis


def main(r: redis.Redis):
    try:
        a = r.get("a")
        b = r.get("h")
        return a, b
    except redis.ResponseError:
        return "failed"
