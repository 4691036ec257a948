# a wrapper raising (AttributeError on None) comes before a later error reply
# fix: safe
import redis


DECODE = False


def main(r: redis.Redis):
    name = r.get("nope").decode()
    other = r.smembers("a")
    return name, other
