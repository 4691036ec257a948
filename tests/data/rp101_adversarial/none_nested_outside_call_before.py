# a call outside the outer command runs before the inner ones
# fix: none
import redis


def tag(x):
    print("tag", x)
    return x


def main(r: redis.Redis):
    return tag("first"), r.mget(r.lrange("l", 0, -1) + r.lrange("l", 0, 0))
