# a print between, the first command fails
# fix: unsafe
import redis


def main(r: redis.Redis):
    a = r.lrange("a", 0, -1)
    print("between")
    b = r.get("b")
    return a, b
