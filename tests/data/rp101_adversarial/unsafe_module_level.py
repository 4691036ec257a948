# a run at module level
# fix: unsafe
import redis


import os

r = redis.Redis.from_url(os.environ["PIPELINT_REDIS_URL"], decode_responses=True)
first = r.get("a")
second = r.get("b")


def main():
    return first, second
