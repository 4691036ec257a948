# a backslash between the receiver and the method
# fix: none
import redis


def main(r: redis.Redis):
    a = r \
        .get("a")
    b = r.get("b")
    return a, b
