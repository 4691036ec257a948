# writes: later commands still run after an error
# fix: unsafe
import redis


def main(r: redis.Redis):
    try:
        r.set("w1", "1")
        r.lpush("a", "x")
        r.set("w2", "2")
    except redis.ResponseError as e:
        return str(e)
