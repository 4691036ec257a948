# a walrus in a later argument rebinds an earlier command's target: not a run
# fix: none
import redis


def main(r: redis.Redis):
    v = r.get("a")
    w = r.get((v := "b"))
    return v, w
