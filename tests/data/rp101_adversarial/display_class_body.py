# a run in a class body
# fix: display-only
import redis


import os

r = redis.Redis.from_url(os.environ["PIPELINT_REDIS_URL"], decode_responses=True)


class Conf:
    a = r.get("a")
    b = r.get("b")


def main():
    return sorted(k for k in vars(Conf) if not k.startswith("__"))
