# a consumer logs a result, then the second read fails (WRONGTYPE): read-only commands,
# but the consumer now runs after both were sent
# fix: unsafe
import logging

import redis

log = logging.getLogger(__name__)


def main(r: redis.Redis):
    a = r.get("a")
    log.warning("got %s", a)
    h = r.get("h")
    return a, h
