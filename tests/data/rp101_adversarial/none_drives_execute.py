# a function that calls execute() on its receiver
# fix: none
import redis


def fill(p: redis.Redis):
    p.get("a")
    p.get("b")
    return p.execute()


def main(r: redis.Redis):
    return fill(r.pipeline(transaction=False))
