# a client subclass overriding get
# fix: display-only
import redis


import os


class Prefixed(redis.Redis):
    def get(self, name):
        return super().get("ns:" + name)


def main():
    r = Prefixed.from_url(os.environ["PIPELINT_REDIS_URL"], decode_responses=True)
    r.set("ns:a", "inner")
    a = r.get("a")
    b = r.get("b")
    return a, b
