# a `while` re-evaluates its test: the tested command cannot become one queued result
# (a finding, no fix)
# fix: none
import redis


def main(r: redis.Redis):
    r.rpush("l", "z")
    while r.llen("l") > 1:
        r.lpop("l")
    return r.lrange("l", 0, -1)
