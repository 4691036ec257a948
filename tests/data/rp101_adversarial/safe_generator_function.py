# a run inside a generator, no yield between
# fix: safe
import redis


def gen(r: redis.Redis):
    a = r.get("a")
    b = r.get("h")
    yield a
    yield b


def main(r: redis.Redis):
    return list(gen(r))
