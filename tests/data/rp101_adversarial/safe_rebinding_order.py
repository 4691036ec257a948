# x bound by a wrapper, then rebound plainly
# fix: safe
import redis


import json


def main(r: redis.Redis):
    x = json.loads(r.get("j"))
    x = r.get("a")
    return x
