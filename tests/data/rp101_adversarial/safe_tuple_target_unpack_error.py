# a tuple target that cannot unpack the reply, then an error reply
# fix: safe
import redis


def main(r: redis.Redis):
    first, second = r.get("n")
    other = r.get("h")
    return first, second, other
