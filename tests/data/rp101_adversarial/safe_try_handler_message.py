# the handler returns the error message
# fix: safe
import redis


def main(r: redis.Redis):
    try:
        a = r.get("a")
        b = r.llen("h")
        return a, b
    except redis.ResponseError as e:
        return str(e)
