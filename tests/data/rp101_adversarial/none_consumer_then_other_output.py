# a consumer prints a result, then a statement that reads no result prints too: moving
# only the consumer would swap the two lines
# fix: none
import redis


def main(r: redis.Redis):
    a = r.get("a")
    print("a is", a)
    print("between")
    b = r.get("b")
    return a, b
