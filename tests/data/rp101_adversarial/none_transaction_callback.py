# a function passed to r.transaction works on a pipeline
# fix: none
import redis


def step(pipe: redis.Redis):
    a = pipe.get("a")
    b = pipe.get("b")
    pipe.multi()
    pipe.set("sum", int(a) + int(b))


def main(r: redis.Redis):
    r.transaction(step, "a", "b")
    return r.get("sum")
