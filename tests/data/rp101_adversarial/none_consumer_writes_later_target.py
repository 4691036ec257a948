# a consumer writes the name a later command binds: moving it after would overwrite it
# fix: none
import redis


def main(r: redis.Redis):
    a = r.get("a")
    last = a
    last = r.get("b")
    return a, last
