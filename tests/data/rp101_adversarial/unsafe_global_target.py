# a global bound by the run
# fix: unsafe
import redis


last = None


def work(r: redis.Redis):
    global last
    last = r.get("a")
    other = r.get("h")
    return other


def main(r: redis.Redis):
    try:
        work(r)
    except redis.ResponseError:
        pass
    return last
