# a later argument calls a function
# fix: unsafe
import redis


calls = []


def key(name):
    calls.append(name)
    return name


def main(r: redis.Redis):
    a = r.get("a")
    b = r.get(key("b"))
    return a, b, calls
