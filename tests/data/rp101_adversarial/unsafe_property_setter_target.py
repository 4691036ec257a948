# a property setter target that writes Redis
# fix: unsafe
import redis


class O:
    def __init__(self, r):
        self.r = r
        self._v = None

    @property
    def v(self):
        return self._v

    @v.setter
    def v(self, value):
        self.r.set("b", "setter")
        self._v = value


def main(r: redis.Redis):
    o = O(r)
    o.v = r.get("a")
    y = r.get("b")
    return o.v, y
