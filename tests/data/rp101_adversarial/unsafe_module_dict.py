# a module-level dict filled by the run, the caller catches
# fix: unsafe
import redis


cache = {}


def fill(r: redis.Redis):
    cache["a"] = r.get("a")
    cache["h"] = r.get("h")


def main(r: redis.Redis):
    try:
        fill(r)
    except redis.ResponseError:
        pass
    return cache
