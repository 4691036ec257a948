# a consumer reads a name that a statement after it rebinds: moving it would show the
# new value
# fix: none
import redis


def main(r: redis.Redis):
    tag = "first"
    out = []
    a = r.get("a")
    out.append((tag, a))
    tag = "second"
    b = r.get("b")
    return out, b, tag
