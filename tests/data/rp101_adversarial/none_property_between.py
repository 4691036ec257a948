# a bare attribute read between (a property may write)
# fix: none
import redis


class M:
    def __init__(self, r):
        self.r = r

    @property
    def touch(self):
        self.r.set("b", "touched")
        return True


def main(r: redis.Redis):
    m = M(r)
    a = r.get("a")
    m.touch
    b = r.get("b")
    return a, b
