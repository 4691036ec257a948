# an except that returns what was read so far
# fix: display-only
import redis


def main(r: redis.Redis):
    a = None
    try:
        a = r.get("a")
        b = r.get("h")
    except redis.ResponseError:
        pass
    return a
