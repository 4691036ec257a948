# commands nested in one expression; the second inner command fails (WRONGTYPE)
# fix: unsafe
import redis


def main(r: redis.Redis):
    return r.mget(r.lrange("l", 0, -1) + r.lrange("a", 0, -1))
