# (r.get)(k): no edit
# fix: none
import redis


def main(r: redis.Redis):
    a = (r.get)("a")
    b = (r.get)("b")
    return a, b
