# a function this module calls with a pipeline: its commands are queued, not sent
# fix: none
import redis


def stage(r: redis.Redis):
    r.get("a")
    r.hgetall("h")


def main(r: redis.Redis):
    pipe = r.pipeline(transaction=False)
    stage(pipe)
    return pipe.execute()
