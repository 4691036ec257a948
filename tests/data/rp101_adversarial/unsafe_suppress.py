# contextlib.suppress around: partial bindings visible
# fix: unsafe
import redis


import contextlib


def main(r: redis.Redis):
    a = b = None
    with contextlib.suppress(redis.ResponseError):
        a = r.get("a")
        b = r.get("h")
    return a, b
