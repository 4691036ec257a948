# XREAD's block passed by position
# fix: none
import redis


def main(r: redis.Redis):
    a = r.get("a")
    s = r.xread({"st": "$"}, 1, 20)
    b = r.get("b")
    return a, s, b
