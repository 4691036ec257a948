# a later argument indexes a dict (KeyError) after a failing command
# fix: unsafe
import redis


def main(r: redis.Redis):
    keys = {"x": "b"}
    try:
        a = r.lrange("a", 0, -1)
        b = r.get(keys["y"])
        return a, b
    except Exception as e:
        return type(e).__name__
