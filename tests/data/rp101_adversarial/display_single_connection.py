# single_connection_client after SELECT
# fix: display-only
import redis


import os


def main():
    r = redis.Redis.from_url(os.environ["PIPELINT_REDIS_URL"], decode_responses=True, single_connection_client=True)
    r.select(1)
    a = r.get("a")
    b = r.get("b")
    return a, b
