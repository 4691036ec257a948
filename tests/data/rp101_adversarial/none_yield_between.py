# a yield between the commands: the consumer runs there
# fix: none
import redis


def gen(r: redis.Redis):
    a = r.get("a")
    yield a
    b = r.get("b")
    yield b


def main(r: redis.Redis):
    out = []
    for v in gen(r):
        out.append(v)
        r.set("b", "changed")
    return out
