# json.loads of the first result, error reply on the second
# fix: safe
import redis


import json


def main(r: redis.Redis):
    data = json.loads(r.get("j"))
    other = r.hgetall("a")
    return data, other
