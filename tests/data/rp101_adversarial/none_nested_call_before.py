# something that prints is evaluated before the inner commands: sending them first would
# move the output after them
# fix: none
import redis


def show(x):
    print("show", x)
    return [x]


def main(r: redis.Redis):
    return r.mget(show("a") + r.lrange("l", 0, -1) + r.lrange("l", 0, 0))
