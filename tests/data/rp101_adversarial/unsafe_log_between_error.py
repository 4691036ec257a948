# logging between, the first command fails
# fix: unsafe
import redis


import logging

log = logging.getLogger(__name__)


def main(r: redis.Redis):
    a = r.hgetall("a")
    log.warning("between")
    b = r.get("b")
    return a, b
