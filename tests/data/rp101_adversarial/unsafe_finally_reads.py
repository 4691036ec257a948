# finally reads the first result
# fix: unsafe
import redis


def main(r: redis.Redis):
    a = "unset"
    try:
        a = r.get("a")
        b = r.get("h")
        return b
    except redis.ResponseError:
        return "err"
    finally:
        print("a =", a)
