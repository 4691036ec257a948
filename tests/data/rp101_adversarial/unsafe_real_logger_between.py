# a logger bound to logging.getLogger between two reads: benign, but it logs before the
# earlier command is sent, so the fix is not safe
# fix: unsafe
import logging

import redis

logger = logging.getLogger(__name__)


def main(r: redis.Redis):
    a = r.get("a")
    logger.info("read a")
    b = r.get("b")
    return a, b
